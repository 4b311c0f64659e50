#pragma once
// Threading contract: an OrderWatch lives on the shard that serves its WatchOrderUpdates call
// and is used only there. Events reach it as tasks from the shard that owns the orders.
//
// One watcher: its stream, its subscription on the owning shard, and a bounded backlog of
// events the stream could not take yet. Events arrive in commit order (one owner shard for the
// order or user, FIFO mailbox), each once. A watch of one order ends OK after FAILED or
// CANCELLED; a watcher more than `backlog_limit` events behind ends with RESOURCE_EXHAUSTED,
// so writers never wait and memory stays bounded.

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "core/base/status.h"
#include "core/rpc/server_stream_call.h"
#include "core/storage/bounded_event_queue.h"
#include "core/storage/change_feed.h"
#include "order/v1/order.pb.h"
#include "services/order/order_store.h"

namespace percore::order {

class OrderWatch : public std::enable_shared_from_this<OrderWatch> {
 public:
  using Stream = rpc::ServerStream<v1::WatchOrderUpdatesRequest, v1::OrderUpdate>;

  OrderWatch(Stream stream, bool one_order, size_t backlog_limit)
      : stream_(std::move(stream)), one_order_(one_order), backlog_(backlog_limit) {}

  void Deliver(OrderEvent event);
  // Ends the stream with `status`; the caller drops the subscription.
  void End(const Status& status);
  bool ended() const { return ended_; }

  Stream& stream() { return stream_; }
  // Where the subscription lives, once registered.
  std::optional<std::pair<runtime::ShardId, storage::SubscriptionId>> subscription;

 private:
  void Write(const OrderEvent& event);
  void Flush();
  void WaitForRoom();

  Stream stream_;
  bool one_order_;
  bool ended_ = false;
  bool waiting_for_room_ = false;
  storage::BoundedEventQueue<OrderEvent> backlog_;
};

}  // namespace percore::order
