#include "services/order/order_watch.h"

namespace percore::order {

bool OrderWatch::Write(const OrderEvent& event) {
  stream().WriteRaw(rpc::SerializedMessage::Copy(event.bytes));
  return event.terminal && one_order_;  // nothing follows for this order
}

}  // namespace percore::order
