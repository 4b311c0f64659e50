#pragma once
// Threading contract: one OrderStore per shard, owned by that shard's OrderHandler; every
// member is used only on that shard's thread. Other shards reach it by hopping here.
//
// The orders this shard owns: every order of every user whose id hashes here (order ids are
// drawn to hash to their user's shard, order_id.h). Per shard:
//   - the orders by id, each with the saga currently driving it (if any);
//   - each user's orders by id, which is creation order (UUIDv7), for ListOrders;
//   - the idempotency keys, (user, key) -> order, so a retried CreateOrder finds its order;
//   - the change feed: every committed status change of an order is published under the order
//     and under its user, in commit order, so watchers of either see it.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/storage/change_feed.h"
#include "core/storage/table_partition.h"
#include "order/v1/order.pb.h"
#include "services/order/order_id.h"

namespace percore::order {

namespace v1 = ::order::v1;

class OrderSaga;

// What watchers receive: a serialized order.v1.OrderUpdate.
struct OrderEvent {
  std::string bytes;
  bool terminal = false;  // FAILED or CANCELLED: nothing follows for this order
};

// A change-feed key: one order, or every order of one user.
struct FeedKey {
  enum Kind : uint8_t { kOrder, kUser };
  Kind kind;
  Uuid id;
  auto operator<=>(const FeedKey&) const = default;
};

bool IsTerminal(v1::OrderStatus status);

class OrderStore {
 public:
  using Feed = storage::ChangeFeed<FeedKey, OrderEvent>;

  struct Record {
    Uuid user_id;
    v1::Order order;
    // The saga driving the order (its CreateOrder flow, or the cancel of a confirmed order);
    // null when the order is settled.
    std::shared_ptr<OrderSaga> saga;
    size_t bytes = 0;  // the order's serialized size when last committed
  };

  struct IdempotencyEntry {
    std::string fingerprint;  // CreateOrderInput::Fingerprint() of the first request
    Uuid order_id;
    // The creating saga while it runs (before the order exists, retries join it here).
    std::shared_ptr<OrderSaga> saga;
  };

  Record* Find(const Uuid& order_id);

  // Stores `order` (new or changed) and publishes the change from `previous`
  // (ORDER_STATUS_UNSPECIFIED for a new order). `order.updated_at` is set by the caller.
  // `known`: the order's record from an earlier Commit, if the caller kept it (records are
  // never erased, so it stays valid): no lookup. `order` may be the record's own order (changed
  // in place by its saga): then nothing is copied.
  Record& Commit(const Uuid& order_id, const Uuid& user_id, const v1::Order& order,
                 v1::OrderStatus previous, Record* known = nullptr);
  // The same, `order` moved into the record.
  Record& Commit(const Uuid& order_id, const Uuid& user_id, v1::Order&& order,
                 v1::OrderStatus previous, Record* known = nullptr);

  // Up to `limit` orders of `user_id` with ids after `after` (from the first when nullopt),
  // oldest first.
  std::vector<std::pair<Uuid, v1::Order>> ListAfter(const Uuid& user_id,
                                                    const std::optional<Uuid>& after,
                                                    size_t limit) const;

  IdempotencyEntry* FindKey(const Uuid& user_id, const std::string& key);
  IdempotencyEntry& ClaimKey(const Uuid& user_id, const std::string& key, IdempotencyEntry entry);
  void ReleaseKey(const Uuid& user_id, const std::string& key);

  Feed& feed() { return feed_; }
  size_t size() const { return orders_.size(); }
  // The orders' serialized bytes (for /metrics), kept by Commit.
  size_t bytes() const { return bytes_; }
  // fn(order_id, record) for up to `limit` orders with ids after `after` (from the first when
  // nullptr), in id order; what a snapshot pass walks.
  template <class Fn>
  size_t ScanOrders(const Uuid* after, size_t limit, Fn&& fn) const {
    auto visit = [&](const Uuid& id, const std::unique_ptr<Record>& record) { fn(id, *record); };
    return after == nullptr ? orders_.ScanAfter(nullptr, limit, visit)
                            : orders_.ScanAfter(after, limit, visit);
  }
  // Releases up to `budget` keys' worth of the idempotency table, from the key after `cursor`
  // (from the first when nullopt): each key whose order is settled (no saga, CONFIRMED, FAILED or
  // CANCELLED) and last changed before `cutoff_nanos` (Unix time). Moves `cursor` on; false once
  // the walk has reached the end (the cursor is then reset). Returns via `released` the count.
  bool ExpireKeys(int64_t cutoff_nanos, size_t budget,
                  std::optional<std::pair<Uuid, std::string>>& cursor, size_t* released);
  size_t key_count() const { return idempotency_.size(); }
  // The fingerprint stored under (user, key), or "" when none.
  std::string FingerprintOf(const Uuid& user_id, const std::string& key) const;

  // Orders of this shard that reached `order.status()` (a saga's transition; recovery's loading
  // is not counted), by status and failure code, for /metrics: plain counts, read on this shard.
  void CountTransition(const v1::Order& order) {
    ++transitions_[order.status()]
                  [order.status() == v1::ORDER_STATUS_FAILED ? order.failure_code() : 0];
  }
  uint64_t transitions(v1::OrderStatus status, v1::FailureCode code) const {
    return transitions_[status][code];
  }

 private:
  // The record of `order_id` (`known`, found or made).
  Record& RecordOf(const Uuid& order_id, const Uuid& user_id, Record* known);
  // Counts and publishes the record's order as committed.
  Record& Published(const Uuid& order_id, const Uuid& user_id, Record& record,
                    v1::OrderStatus previous);

  storage::TablePartition<Uuid, std::unique_ptr<Record>> orders_;
  // (user, order) -> nothing: a user's orders in id order.
  storage::TablePartition<std::pair<Uuid, Uuid>, bool> by_user_;
  std::map<std::pair<Uuid, std::string>, IdempotencyEntry> idempotency_;
  Feed feed_;
  std::array<std::array<uint64_t, v1::FailureCode_ARRAYSIZE>, v1::OrderStatus_ARRAYSIZE>
      transitions_{};
  size_t bytes_ = 0;  // see bytes()
};

}  // namespace percore::order
