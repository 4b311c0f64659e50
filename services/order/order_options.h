#pragma once
// Threading contract: a value, fixed before the server starts and then read on every shard.
//
// The knobs of order.v1.OrderService. Every step of CreateOrder has a deadline, the earlier of
// the caller's deadline and the step's own budget below, so no order stays PENDING, RESERVED
// or PAID for longer than the sum of the budgets (plus compensation).

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string_view>

#include "core/base/uuid.h"
#include "core/rpc/server_stream_call.h"
#include "order/v1/order.pb.h"

namespace percore::order {

struct OrderServiceOptions {
  // Budget of the GetUser step.
  std::chrono::milliseconds user_deadline{1000};
  // Budget of ReserveStock and of CommitReservation.
  std::chrono::milliseconds inventory_deadline{1000};
  // Budget of ProcessPayment: past it the order fails with FAILURE_CODE_PAYMENT_TIMEOUT.
  std::chrono::milliseconds payment_deadline{2000};
  // Budget of each compensating call (release, refund, stock return). These are not bounded by
  // the caller's deadline: a caller that gave up must not leave stock held or money taken.
  std::chrono::milliseconds compensation_deadline{2000};
  // Budget of a line's stock return by AdjustStock (only to finish a return a server before
  // ReturnReservation started line by line, or for an inventory without it), which waits for an
  // unreachable inventory to come back: it cannot be retried (a delta applied twice moves the
  // stock twice), so it must outlast an inventory restart.
  std::chrono::milliseconds stock_return_deadline{10000};
  // Attempts of an idempotent compensating call (release, refund, stock return) while the
  // caller waits; then the order ends with compensation_pending and it is retried in the
  // background, `compensation_retry` apart at first, doubling up to 32 times that.
  int compensation_attempts = 3;
  std::chrono::milliseconds compensation_retry{1000};
  // Attempts to settle a payment whose outcome is unknown (VoidPayment by the order's key),
  // 100 ms apart at first, 1.6 s later (about 30 s in all), before the order ends with the
  // outcome reported as unknown.
  int settle_attempts = 20;
  // How long inventory holds the stock of an order whose flow never comes back (a crash):
  // longer than the whole flow takes.
  std::chrono::seconds reservation_ttl{60};
  // How long the idempotency key of a settled order (CONFIRMED, FAILED or CANCELLED, no saga
  // running) is kept after the order's last change: a CreateOrder repeated with the key within
  // it returns the order; after it the key is free and names a new order. Bounds the keys' memory
  // by the rate of orders, not their history (--idempotency-retention). 0: kept forever.
  std::chrono::seconds idempotency_retention{std::chrono::hours(24)};
  // Events a watcher may fall behind before its stream ends with RESOURCE_EXHAUSTED.
  size_t watch_backlog_limit = 1024;
  // ChatMessages of one session being answered at once; reading pauses past it.
  size_t chat_in_flight_limit = 32;

  // In a cluster (services/cluster sets them; unset outside one): a client's ListOrders or
  // WatchOrderUpdates whose orders live on another partition (`key`: the user's or the order's
  // id bytes) is taken and relayed from there (true), or served here (false). Called on the
  // call's shard once the request is valid and the caller may see it.
  std::function<bool(const rpc::ServerStream<::order::v1::ListOrdersRequest, ::order::v1::Order>&,
                     std::string_view key)>
      cluster_list;
  std::function<bool(
      const rpc::ServerStream<::order::v1::WatchOrderUpdatesRequest, ::order::v1::OrderUpdate>&,
      std::string_view key)>
      cluster_watch;
  // A support chat's "status <order id>" for an order another partition holds: looked up there
  // (true: `done` taken and called once on this shard, nullopt when the owner has no such order
  // or cannot be asked), or here (false: `done` left alone).
  std::function<bool(const Uuid& order_id,
                     std::function<void(std::optional<::order::v1::Order>)>& done)>
      cluster_order_lookup;
};

}  // namespace percore::order
