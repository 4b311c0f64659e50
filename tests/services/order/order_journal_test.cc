// The order journal alone: its record's encoding (every field round-trips, damage is refused),
// and recovery from real files — the last state of each order wins, orders are placed on their
// user's shard for today's --shards with a forward for ids that no longer hash there, and the
// orders left mid-saga are counted.

#include "services/order/order_journal.h"

#include <gtest/gtest.h>

#include <map>

#include "core/runtime/shard_for.h"
#include "tests/core/durability/append_records.h"
#include "tests/core/durability/temp_dir.h"

namespace percore::order {
namespace {

namespace v1 = ::order::v1;

durability::DurabilityConfig Config(const testing::TempDir& dir) {
  durability::DurabilityConfig config;
  config.data_dir = dir.path();
  return config;
}

Uuid MakeId(uint64_t n) {
  UuidV7Generator ids(n);
  return ids.Next(1'700'000'000'000'000'000 + static_cast<int64_t>(n),
                  [](const Uuid&) { return true; });
}

OrderState State(const Uuid& id, const Uuid& user, v1::OrderStatus status, SagaPhase phase) {
  OrderState state;
  state.order.set_id(id.ToString());
  state.order.set_user_id(user.ToString());
  state.order.set_status(status);
  v1::LineItem* item = state.order.add_items();
  item->set_sku("sku-1");
  item->set_quantity(2);
  state.order.set_idempotency_key("key-" + id.ToString());
  state.phase = phase;
  state.fingerprint = "fp";
  return state;
}

TEST(OrderJournalTest, StateRoundTripsAndDamageIsRefused) {
  OrderState state = State(MakeId(1), MakeId(2), v1::ORDER_STATUS_PAID, SagaPhase::kFailing);
  state.order.set_reservation_id("res-1");
  state.order.set_transaction_id("txn-1");
  state.held = true;
  state.charged = true;
  state.cancel_requested = true;
  state.lines_returned = 1;
  state.failure_code = v1::FAILURE_CODE_SERVICE_UNAVAILABLE;
  state.failure_reason = "inventory UNAVAILABLE";
  std::string bytes = EncodeOrderState(state);

  OrderState back;
  ASSERT_TRUE(DecodeOrderState(bytes, &back));
  EXPECT_EQ(back.order.SerializeAsString(), state.order.SerializeAsString());
  EXPECT_EQ(back.fingerprint, "fp");
  EXPECT_EQ(back.phase, SagaPhase::kFailing);
  EXPECT_TRUE(back.held);
  EXPECT_FALSE(back.committed);
  EXPECT_TRUE(back.charged);
  EXPECT_TRUE(back.cancel_requested);
  EXPECT_EQ(back.lines_returned, 1u);
  EXPECT_EQ(back.failure_code, v1::FAILURE_CODE_SERVICE_UNAVAILABLE);
  EXPECT_EQ(back.failure_reason, "inventory UNAVAILABLE");

  for (size_t cut = 0; cut < 24; ++cut) {  // the fixed fields and strings cut short
    OrderState partial;
    EXPECT_FALSE(DecodeOrderState(bytes.substr(0, cut), &partial)) << cut;
  }
  std::string bad_phase = bytes;
  bad_phase[0] = 9;
  EXPECT_FALSE(DecodeOrderState(bad_phase, &back));
  std::string bad_flags = bytes;
  bad_flags[4] = 32;  // past kRefundRefused (16)
  EXPECT_FALSE(DecodeOrderState(bad_flags, &back));
  // A pending compensation (order_saga_retry.cc): its phase and the refund refused for good.
  OrderState pending = state;
  pending.phase = SagaPhase::kCompensationPending;
  pending.refund_refused = true;
  pending.order.set_compensation_pending(true);
  ASSERT_TRUE(DecodeOrderState(EncodeOrderState(pending), &back));
  EXPECT_EQ(back.phase, SagaPhase::kCompensationPending);
  EXPECT_TRUE(back.refund_refused);
  EXPECT_TRUE(back.order.compensation_pending());
  OrderState too_far = state;
  too_far.lines_returned = 2;  // more returns than lines
  EXPECT_FALSE(DecodeOrderState(EncodeOrderState(too_far), &back));
  OrderState no_id = state;
  no_id.order.set_id("not-a-uuid");
  EXPECT_FALSE(DecodeOrderState(EncodeOrderState(no_id), &back));
}

TEST(OrderJournalTest, RecoveryKeepsTheLastStatePlacesByUserAndForwardsMovedIds) {
  testing::TempDir dir;
  durability::DurabilityConfig config = Config(dir);
  std::string report;
  // A first start: an empty generation with two shards' logs.
  Result<RecoveredOrders> first = RecoverOrders(config, 2, &report);
  ASSERT_TRUE(first.ok()) << first.message();
  ASSERT_EQ(first->shards.size(), 2u);

  // Orders of several users, each made on its user's shard for 2 shards; some mid-saga.
  std::map<Uuid, OrderState> last;
  for (uint64_t n = 0; n < 24; ++n) {
    Uuid user = MakeId(100 + n % 6);
    Uuid id = MakeId(1000 + n);
    size_t shard = runtime::ShardFor(user.view(), 2);
    testing::Records records = {
        {kOrderState,
         EncodeOrderState(State(id, user, v1::ORDER_STATUS_PENDING, SagaPhase::kForward))}};
    OrderState final_state = State(id, user, v1::ORDER_STATUS_RESERVED, SagaPhase::kForward);
    if (n % 3 == 0) {
      final_state = State(id, user, v1::ORDER_STATUS_CONFIRMED, SagaPhase::kSettled);
      final_state.committed = true;
    }
    records.emplace_back(kOrderState, EncodeOrderState(final_state));
    testing::AppendRecords(*first->shards[shard].log, records);
    last[id] = final_state;
  }
  first->shards.clear();  // closes the logs

  for (size_t shards : {3u, 1u}) {
    report.clear();
    Result<RecoveredOrders> again = RecoverOrders(config, shards, &report);
    ASSERT_TRUE(again.ok()) << again.message();
    ASSERT_EQ(again->shards.size(), shards);
    EXPECT_EQ(again->unfinished, 16u) << report;  // the RESERVED ones
    EXPECT_NE(report.find("recovered 24 orders (16 mid-saga"), std::string::npos) << report;
    size_t found = 0;
    for (size_t shard = 0; shard < shards; ++shard) {
      for (const OrderState& state : again->shards[shard].orders) {
        ++found;
        Uuid id = *Uuid::Parse(state.order.id());
        Uuid user = *Uuid::Parse(state.order.user_id());
        EXPECT_EQ(shard, runtime::ShardFor(user.view(), shards));
        EXPECT_EQ(state.order.status(), last[id].order.status());
        EXPECT_EQ(state.phase, last[id].phase);
        EXPECT_EQ(state.committed, last[id].committed);
        EXPECT_EQ(state.fingerprint, "fp");
        bool moved = runtime::ShardFor(id.view(), shards) != shard;
        EXPECT_EQ(again->moved->contains(id), moved);
        if (moved) EXPECT_EQ(again->moved->at(id), shard);
      }
    }
    EXPECT_EQ(found, 24u);
  }
}

TEST(OrderJournalTest, AnUnknownOrDamagedRecordRefusesToStart) {
  testing::TempDir dir;
  durability::DurabilityConfig config = Config(dir);
  std::string report;
  Result<RecoveredOrders> first = RecoverOrders(config, 1, &report);
  ASSERT_TRUE(first.ok());
  testing::AppendRecords(*first->shards[0].log, {{kOrderState, "garbage"}, {7, "x"}});
  first->shards.clear();
  Result<RecoveredOrders> again = RecoverOrders(config, 1, &report);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(again.message().find("damaged order record"), std::string::npos) << again.message();
}

}  // namespace
}  // namespace percore::order
