#pragma once
// Threading contract: the encoders and decoders are pure (any thread); RecoverOrders runs on the
// control thread before the shards start.
//
// The order service's durable state (issue 10). Each shard logs, through its StoreJournal, one
// kind of record: an order's whole state (kOrderState) — the order row as served, the
// idempotency fingerprint of the request that made it, and the step state of the saga driving
// it (its phase, what the order holds, how far a stock return got). The last record of an order
// is its state. A saga logs at every status transition and before each step whose effect
// recovery must know of (the write order is in order_saga.h), so after any crash the log names
// every order that may hold stock or money, and recovery (OrderSaga::ForRecovery) finishes it.
//
// Placement for today's --shards: an order by ShardFor(its user id), where its user's orders,
// keys and sagas live. Its id was drawn to hash to the same shard for the shard count of its day;
// when it no longer does, the order is listed in `moved` (order id -> shard), which every shard
// reads (it is fixed before the shards start) to find it by id.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/durability/durability_config.h"
#include "core/durability/log_file.h"
#include "core/durability/store_journal.h"
#include "core/runtime/shard.h"
#include "order/v1/order.pb.h"
#include "services/order/order_id.h"

namespace percore::order {

enum OrderRecordType : uint32_t {
  kOrderState = 1,
};

// Where the saga of an order stood when its state was logged.
enum class SagaPhase : uint32_t {
  kSettled = 0,          // no saga: CONFIRMED, FAILED or CANCELLED
  kForward = 1,          // CreateOrder's forward steps
  kFailing = 2,          // compensating, then FAILED with `failure_code`/`failure_reason`
  kCancelling = 3,       // compensating, then CANCELLED (a cancel during the forward steps)
  kCancelConfirmed = 4,  // the cancel of a CONFIRMED order: refund, return the stock
  // FAILED or CANCELLED, with a compensation still to retry (`held`, `committed`, or `charged`
  // without `refund_refused`): order_saga_retry.cc.
  kCompensationPending = 5,
  kLast = kCompensationPending,
};

struct OrderState {
  ::order::v1::Order order;
  std::string fingerprint;  // CreateOrderInput::Fingerprint(); "" without an idempotency key
  SagaPhase phase = SagaPhase::kSettled;
  bool held = false;       // the reservation is HELD
  bool committed = false;  // the reserved units left the stock
  bool charged = false;    // the transaction is APPROVED
  bool cancel_requested = false;
  bool refund_refused = false;  // the payment service refused the refund for good: not retried
  // Lines whose stock return was started by a server before ReturnReservation (each logged
  // before its AdjustStock, so a crash could lose a return but never repeat one); 0 since.
  uint32_t lines_returned = 0;
  // kFailing: the failure the order ends with.
  ::order::v1::FailureCode failure_code = ::order::v1::FAILURE_CODE_UNSPECIFIED;
  std::string failure_reason;
};

std::string EncodeOrderState(const OrderState& state);
// false when the payload is damaged.
bool DecodeOrderState(std::string_view payload, OrderState* state);

// What recovery hands each shard.
struct OrderRestore {
  std::vector<OrderState> orders;
  std::optional<durability::LogFile> log;
};

struct RecoveredOrders {
  std::vector<OrderRestore> shards;
  // Orders whose id no longer hashes to their user's shard: order id -> that shard.
  std::shared_ptr<const std::map<Uuid, runtime::ShardId>> moved;
  size_t unfinished = 0;  // orders a saga must finish (phase not kSettled)
};

// Recovers the orders under `config.data_dir`/orders for `shards` shards and starts the next
// generation.
Result<RecoveredOrders> RecoverOrders(const durability::DurabilityConfig& config, size_t shards,
                                      std::string* report);

// The order service's logs in one process: Recover() on the control thread before the shards
// start; then each shard's handler takes its part (TakeShard, on that shard) and uses only its
// own journal; Close() on the control thread once the shards have stopped.
class OrderJournals {
 public:
  explicit OrderJournals(durability::DurabilityConfig config) : config_(std::move(config)) {}

  Status Recover(size_t shards, std::string* report);
  // This shard's recovered orders; starts its journal. Empty (and the journal off) without a
  // recovery.
  OrderRestore TakeShard(runtime::Shard& shard);
  durability::StoreJournal* journal(runtime::ShardId shard) {
    return shard < journals_.size() ? journals_[shard].get() : nullptr;
  }
  // Read-only once the shards start.
  std::shared_ptr<const std::map<Uuid, runtime::ShardId>> moved() const { return moved_; }
  size_t unfinished() const { return unfinished_; }
  durability::SnapshotPolicy snapshot_policy() const { return config_.snapshot; }
  void Close();

 private:
  durability::DurabilityConfig config_;
  std::vector<OrderRestore> restore_;
  std::vector<std::unique_ptr<durability::StoreJournal>> journals_;
  std::shared_ptr<const std::map<Uuid, runtime::ShardId>> moved_ =
      std::make_shared<const std::map<Uuid, runtime::ShardId>>();
  size_t unfinished_ = 0;
};

}  // namespace percore::order
