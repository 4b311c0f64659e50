#include "services/order/order_watch.h"

namespace percore::order {

bool OrderWatch::Write(const OrderEvent& event) {
  grpc::Slice slice(event.bytes.data(), event.bytes.size());
  stream().WriteRaw(grpc::ByteBuffer(&slice, 1));
  return event.terminal && one_order_;  // nothing follows for this order
}

}  // namespace percore::order
