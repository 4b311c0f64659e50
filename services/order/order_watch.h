#pragma once
// Threading contract: an OrderWatch lives on the shard that serves its WatchOrderUpdates call
// and is used only there. Events reach it as tasks from the shard that owns the orders.
//
// One watcher: its stream (with the bounded backlog of rpc::WatchStream) and its subscription
// on the owning shard. Events arrive in commit order (one owner shard for the
// order or user, FIFO mailbox), each once. A watch of one order ends OK after FAILED or
// CANCELLED; a watcher more than `backlog_limit` events behind ends with RESOURCE_EXHAUSTED,
// so writers never wait and memory stays bounded.

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "core/base/status.h"
#include "core/rpc/server_stream_call.h"
#include "core/rpc/watch_stream.h"
#include "core/storage/change_feed.h"
#include "order/v1/order.pb.h"
#include "services/order/order_store.h"

namespace percore::order {

class OrderWatch final
    : public rpc::WatchStream<rpc::ServerStream<v1::WatchOrderUpdatesRequest, v1::OrderUpdate>,
                              OrderEvent> {
 public:
  using Stream = rpc::ServerStream<v1::WatchOrderUpdatesRequest, v1::OrderUpdate>;

  OrderWatch(Stream stream, bool one_order, size_t backlog_limit)
      : WatchStream(std::move(stream), backlog_limit, "read the orders again and re-watch"),
        one_order_(one_order) {}

  // Where the subscription lives, once registered.
  std::optional<std::pair<runtime::ShardId, storage::SubscriptionId>> subscription;

 private:
  bool Write(const OrderEvent& event) override;

  bool one_order_;
};

}  // namespace percore::order
