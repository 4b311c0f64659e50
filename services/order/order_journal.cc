#include "services/order/order_journal.h"

#include <map>

#include "core/durability/record_codec.h"
#include "core/durability/store_journal.h"
#include "core/runtime/shard_for.h"

namespace percore::order {
namespace {

constexpr uint32_t kHeld = 1;
constexpr uint32_t kCommitted = 2;
constexpr uint32_t kCharged = 4;
constexpr uint32_t kCancelRequested = 8;
constexpr uint32_t kRefundRefused = 16;
constexpr uint32_t kKnownFlags = 31;

}  // namespace

std::string EncodeOrderState(const OrderState& state) {
  uint32_t flags = (state.held ? kHeld : 0) | (state.committed ? kCommitted : 0) |
                   (state.charged ? kCharged : 0) |
                   (state.cancel_requested ? kCancelRequested : 0) |
                   (state.refund_refused ? kRefundRefused : 0);
  durability::RecordEncoder out;
  out.U32(static_cast<uint32_t>(state.phase))
      .U32(flags)
      .U32(state.lines_returned)
      .U32(static_cast<uint32_t>(state.failure_code))
      .Str(state.failure_reason)
      .Str(state.fingerprint);
  state.order.AppendToString(&out.bytes());
  return out.Take();
}

bool DecodeOrderState(std::string_view payload, OrderState* state) {
  durability::RecordDecoder in(payload);
  uint32_t phase = 0;
  uint32_t flags = 0;
  uint32_t code = 0;
  if (!in.U32(&phase) || !in.U32(&flags) || !in.U32(&state->lines_returned) || !in.U32(&code) ||
      !in.Str(&state->failure_reason) || !in.Str(&state->fingerprint) ||
      phase > static_cast<uint32_t>(SagaPhase::kLast) || flags > kKnownFlags ||
      !::order::v1::FailureCode_IsValid(static_cast<int>(code))) {
    return false;
  }
  state->phase = static_cast<SagaPhase>(phase);
  state->held = flags & kHeld;
  state->committed = flags & kCommitted;
  state->charged = flags & kCharged;
  state->cancel_requested = flags & kCancelRequested;
  state->refund_refused = flags & kRefundRefused;
  state->failure_code = static_cast<::order::v1::FailureCode>(code);
  if (!state->order.ParseFromArray(in.rest().data(), static_cast<int>(in.rest().size()))) {
    return false;
  }
  // The ids recovery places by must be real.
  return Uuid::Parse(state->order.id()).has_value() &&
         Uuid::Parse(state->order.user_id()).has_value() &&
         state->lines_returned <= static_cast<uint32_t>(state->order.items_size());
}

Result<RecoveredOrders> RecoverOrders(const durability::DurabilityConfig& config, size_t shards,
                                      std::string* report) {
  std::map<Uuid, OrderState> orders;  // the last state of each
  durability::ReplayStats stats;
  Result<durability::GenerationDir> dir = durability::ReplayStore(
      config, "orders",
      [&](uint32_t, uint32_t type, std::string_view payload) -> Status {
        if (type != kOrderState) {
          return Status(StatusCode::kDataLoss,
                        "a record percore does not know (type " + std::to_string(type) + ")");
        }
        OrderState state;
        if (!DecodeOrderState(payload, &state)) {
          return Status(StatusCode::kDataLoss, "a damaged order record");
        }
        Uuid id = *Uuid::Parse(state.order.id());
        orders.insert_or_assign(id, std::move(state));
        return Status();
      },
      report, &stats);
  if (!dir.ok()) return dir.status();

  RecoveredOrders recovered;
  recovered.shards.resize(shards);
  auto moved = std::make_shared<std::map<Uuid, runtime::ShardId>>();
  std::vector<std::vector<durability::SnapshotRecord>> snapshots(shards);
  for (auto& [id, state] : orders) {
    Uuid user = *Uuid::Parse(state.order.user_id());
    runtime::ShardId shard = runtime::ShardFor(user.view(), shards);
    if (runtime::ShardFor(id.view(), shards) != shard) moved->emplace(id, shard);
    if (state.phase != SagaPhase::kSettled) ++recovered.unfinished;
    snapshots[shard].emplace_back(kOrderState, EncodeOrderState(state));
    recovered.shards[shard].orders.push_back(std::move(state));
  }
  Result<std::vector<durability::LogFile>> logs = WriteNextGeneration(*dir, snapshots);
  if (!logs.ok()) return logs.status();
  for (size_t shard = 0; shard < shards; ++shard) {
    recovered.shards[shard].log = std::move((*logs)[shard]);
  }
  recovered.moved = std::move(moved);
  *report += "orders: recovered " + std::to_string(orders.size()) + " orders (" +
             std::to_string(recovered.unfinished) + " mid-saga, finished once serving) from " +
             std::to_string(stats.records) + " records for " + std::to_string(shards) + " shards\n";
  return recovered;
}

Status OrderJournals::Recover(size_t shards, std::string* report) {
  Result<RecoveredOrders> recovered = RecoverOrders(config_, shards, report);
  if (!recovered.ok()) return recovered.status();
  restore_ = std::move(recovered->shards);
  moved_ = std::move(recovered->moved);
  unfinished_ = recovered->unfinished;
  journals_.clear();
  for (size_t shard = 0; shard < shards; ++shard) {
    journals_.push_back(std::make_unique<durability::StoreJournal>());
  }
  return Status();
}

OrderRestore OrderJournals::TakeShard(runtime::Shard& shard) {
  if (shard.id() >= restore_.size()) return OrderRestore();
  OrderRestore restore = std::move(restore_[shard.id()]);
  if (restore.log) {
    journals_[shard.id()]->Start(shard, std::move(*restore.log), config_.fsync);
    restore.log.reset();
  }
  return restore;
}

void OrderJournals::Close() {
  for (auto& journal : journals_) journal->Close();
}

}  // namespace percore::order
