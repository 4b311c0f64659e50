// The inventory journal alone: its records' encoding, and recovery from real files — replay,
// the reconciliation of holds with their reservations, and re-placement for another shard count.

#include "services/inventory/inventory_journal.h"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>

#include "core/runtime/shard_for.h"
#include "services/inventory/stock_partition.h"
#include "tests/core/durability/append_records.h"
#include "tests/core/durability/journal_config.h"
#include "tests/core/durability/temp_dir.h"

namespace percore::inventory {
namespace {

constexpr int64_t kNow = 1'700'000'000'000'000'000;
using testing::kHourNanos;

durability::DurabilityConfig Config(const testing::TempDir& dir,
                                    std::chrono::seconds retention = std::chrono::seconds(0)) {
  return testing::JournalConfig(dir, retention, durability::FsyncPolicy::kAlways);
}

std::string Product(const std::string& sku, int64_t stock) {
  v1::Product product;
  product.set_sku(sku);
  product.set_name("Widget");
  product.mutable_price()->set_amount_minor(250);
  product.mutable_price()->set_currency("EUR");
  product.set_stock(stock);
  product.set_available(stock);
  return product.SerializeAsString();
}

std::string Reservation(const std::string& id, const std::string& key,
                        v1::Reservation::ReservationState state, const std::string& sku,
                        int64_t quantity) {
  v1::Reservation reservation;
  reservation.set_id(id);
  reservation.set_reservation_key(key);
  reservation.set_state(state);
  v1::StockLine* line = reservation.add_lines();
  line->set_sku(sku);
  line->set_quantity(quantity);
  reservation.mutable_expires_at()->set_seconds(2'000'000'000);
  return reservation.SerializeAsString();
}

// Every product restored, by SKU, with the shard it was placed on.
std::map<std::string, std::pair<size_t, v1::Product>> Products(
    const std::vector<InventoryRestore>& restore) {
  std::map<std::string, std::pair<size_t, v1::Product>> products;
  for (size_t shard = 0; shard < restore.size(); ++shard) {
    for (const v1::Product& product : restore[shard].products) {
      products[product.sku()] = {shard, product};
    }
  }
  return products;
}

std::vector<int64_t> Levels(const v1::Product& product) {
  return {product.stock(), product.reserved(), product.available()};
}

TEST(InventoryJournalTest, HoldRecordsRoundTripAndDamageIsRefused) {
  HoldRecord hold{"rsv_00000000000000a1", kNow, {Line{"a", 2}, Line{"b", 7}}};
  std::string bytes = EncodeHold(hold);
  HoldRecord back;
  ASSERT_TRUE(DecodeHold(bytes, &back));
  EXPECT_EQ(back.reservation_id, hold.reservation_id);
  EXPECT_EQ(back.now, kNow);
  EXPECT_EQ(back.lines, hold.lines);
  EXPECT_FALSE(DecodeHold(std::string_view(bytes).substr(0, bytes.size() - 1), &back));
  EXPECT_FALSE(DecodeHold(bytes + "x", &back));
}

TEST(InventoryJournalTest, RecoveryReconcilesHoldsWithReservationsAndReplacesForNewShardCount) {
  testing::TempDir dir;
  std::string report;
  // An empty first start: a generation of two shards with empty logs.
  Result<std::vector<InventoryRestore>> first = RecoverInventory(Config(dir), 2, kNow, &report);
  ASSERT_TRUE(first.ok()) << first.message();
  const auto held = v1::Reservation::RESERVATION_STATE_HELD;
  const auto committed = v1::Reservation::RESERVATION_STATE_COMMITTED;
  const auto released = v1::Reservation::RESERVATION_STATE_RELEASED;
  // Old shard 0 owned the products; its log holds their rows and holds.
  testing::AppendRecords(
      *(*first)[0].log,
      {{kProductPut, Product("a", 10)},
       {kProductPut, Product("b", 10)},
       {kProductPut, Product("c", 10)},
       {kProductPut, Product("d", 10)},
       {kHold, EncodeHold({"rsv_1", kNow, {Line{"a", 2}}})},  // HELD: stays
       {kHold, EncodeHold({"rsv_2", kNow, {Line{"b", 3}}})},  // COMMITTED, not yet settled
       {kHold, EncodeHold({"rsv_3", kNow, {Line{"c", 4}}})},  // RELEASED, not yet settled
       {kHold, EncodeHold({"rsv_4", kNow, {Line{"c", 1}}})},  // never logged HELD: a crash
       {kHold, EncodeHold({"rsv_5", kNow, {Line{"d", 1}}})},  // COMMITTED and settled
       {kHoldCommit, EncodeHold({"rsv_5", kNow, {}})}});
  // Old shard 1 owned the reservation records.
  testing::AppendRecords(*(*first)[1].log,
                         {{kReservationPut, Reservation("rsv_1", "k1", held, "a", 2)},
                          {kReservationPut, Reservation("rsv_2", "k2", held, "b", 3)},
                          {kReservationPut, Reservation("rsv_2", "k2", committed, "b", 3)},
                          {kReservationPut, Reservation("rsv_3", "k3", released, "c", 4)},
                          {kReservationPut, Reservation("rsv_5", "k5", committed, "d", 1)}});
  first->clear();  // closes the logs, as the crash did

  constexpr size_t kShards = 3;
  report.clear();
  Result<std::vector<InventoryRestore>> second =
      RecoverInventory(Config(dir), kShards, kNow, &report);
  ASSERT_TRUE(second.ok()) << second.message();
  EXPECT_NE(report.find("1 committed, 2 released"), std::string::npos) << report;
  auto check = [&](const std::vector<InventoryRestore>& restore) {
    auto products = Products(restore);
    ASSERT_EQ(products.size(), 4u);
    EXPECT_EQ(Levels(products["a"].second), (std::vector<int64_t>{10, 2, 8}));
    EXPECT_EQ(Levels(products["b"].second), (std::vector<int64_t>{7, 0, 7}));
    EXPECT_EQ(Levels(products["c"].second), (std::vector<int64_t>{10, 0, 10}));
    EXPECT_EQ(Levels(products["d"].second), (std::vector<int64_t>{9, 0, 9}));
    for (const auto& [sku, placed] : products) {
      EXPECT_EQ(placed.first, runtime::ShardFor(sku, kShards)) << sku;
    }
    // Only rsv_1 still holds, on the shard of its SKU.
    size_t holds = 0;
    for (size_t shard = 0; shard < kShards; ++shard) {
      for (const auto& [id, lines] : restore[shard].holds) {
        ++holds;
        EXPECT_EQ(id, "rsv_1");
        EXPECT_EQ(shard, runtime::ShardFor("a", kShards));
        EXPECT_EQ(lines, (std::vector<Line>{Line{"a", 2}}));
      }
    }
    EXPECT_EQ(holds, 1u);
    // Every reservation on its key's shard, and reachable by id: there or through a forward.
    std::map<std::string, v1::Reservation::ReservationState> states;
    for (size_t shard = 0; shard < kShards; ++shard) {
      for (const v1::Reservation& reservation : restore[shard].reservations) {
        states[reservation.id()] = reservation.state();
        EXPECT_EQ(shard, runtime::ShardFor(reservation.reservation_key(), kShards));
        size_t by_id = runtime::ShardFor(reservation.id(), kShards);
        if (by_id != shard) {
          ASSERT_TRUE(restore[by_id].moved.contains(reservation.id())) << reservation.id();
          EXPECT_EQ(restore[by_id].moved.at(reservation.id()), shard);
        }
      }
    }
    EXPECT_EQ(
        states,
        (std::map<std::string, v1::Reservation::ReservationState>{
            {"rsv_1", held}, {"rsv_2", committed}, {"rsv_3", released}, {"rsv_5", committed}}));
  };
  check(*second);
  // The new generation's snapshots say the same, for yet another shard count.
  second->clear();
  report.clear();
  Result<std::vector<InventoryRestore>> third = RecoverInventory(Config(dir), 1, kNow, &report);
  ASSERT_TRUE(third.ok()) << third.message();
  auto products = Products(*third);
  EXPECT_EQ(Levels(products["a"].second), (std::vector<int64_t>{10, 2, 8}));
  EXPECT_EQ(Levels(products["b"].second), (std::vector<int64_t>{7, 0, 7}));
  EXPECT_EQ((*third)[0].holds.size(), 1u);
  EXPECT_EQ((*third)[0].reservations.size(), 4u);
  EXPECT_TRUE((*third)[0].moved.empty());  // one shard: every id hashes to it
}

TEST(InventoryJournalTest, RetentionDropsEndedReservationsAndTheirDropRecordsReplay) {
  testing::TempDir dir;
  durability::DurabilityConfig config = Config(dir, std::chrono::hours(1));
  std::string report;
  Result<std::vector<InventoryRestore>> first = RecoverInventory(config, 1, kNow, &report);
  ASSERT_TRUE(first.ok()) << first.message();
  auto at = [](std::string bytes, int64_t nanos) {
    v1::Reservation reservation;
    reservation.ParseFromString(bytes);
    *reservation.mutable_updated_at() =
        google::protobuf::util::TimeUtil::NanosecondsToTimestamp(nanos);
    return reservation.SerializeAsString();
  };
  const auto held = v1::Reservation::RESERVATION_STATE_HELD;
  const auto committed = v1::Reservation::RESERVATION_STATE_COMMITTED;
  const auto released = v1::Reservation::RESERVATION_STATE_RELEASED;
  testing::AppendRecords(
      *(*first)[0].log,
      {{kProductPut, Product("a", 10)},
       // Ended two hours ago: past the retention.
       {kReservationPut,
        at(Reservation("rsv_old", "k1", committed, "a", 1), kNow - 2 * kHourNanos)},
       // Ended a minute ago: kept.
       {kReservationPut,
        at(Reservation("rsv_new", "k2", released, "a", 1), kNow - kHourNanos / 60)},
       // Held for two hours: never dropped.
       {kReservationPut, at(Reservation("rsv_held", "k3", held, "a", 1), kNow - 2 * kHourNanos)},
       // Dropped by the sweep while serving.
       {kReservationPut, at(Reservation("rsv_swept", "k4", released, "a", 1), kNow)},
       {kReservationDrop, "rsv_swept"}});
  first->clear();
  report.clear();
  Result<std::vector<InventoryRestore>> second = RecoverInventory(config, 1, kNow, &report);
  ASSERT_TRUE(second.ok()) << second.message();
  std::vector<std::string> ids;
  for (const v1::Reservation& reservation : (*second)[0].reservations) {
    ids.push_back(reservation.id());
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"rsv_held", "rsv_new"}));
  EXPECT_NE(report.find("1 past retention dropped"), std::string::npos) << report;
}

TEST(InventoryJournalTest, HoldStateRecordsSetRowsAndHoldsWhole) {
  HoldState state{"rsv_9", {Line{"a", 2}}, {}};
  v1::Product row;
  row.ParseFromString(Product("a", 10));
  row.set_reserved(2);
  row.set_available(8);
  state.rows.push_back(row);
  HoldState back;
  std::string bytes = EncodeHoldState(state);
  ASSERT_TRUE(DecodeHoldState(bytes, &back));
  EXPECT_EQ(back.lines, state.lines);
  ASSERT_EQ(back.rows.size(), 1u);
  EXPECT_EQ(back.rows[0].SerializeAsString(), row.SerializeAsString());
  EXPECT_FALSE(DecodeHoldState(bytes + "x", &back));

  // Replayed twice (a snapshot that already holds it, then its record): the same state.
  testing::TempDir dir;
  std::string report;
  Result<std::vector<InventoryRestore>> first = RecoverInventory(Config(dir), 1, kNow, &report);
  ASSERT_TRUE(first.ok()) << first.message();
  testing::AppendRecords(
      *(*first)[0].log,
      {{kProductPut, row.SerializeAsString()},
       {kHoldRestore, EncodeHold({"rsv_9", 0, {Line{"a", 2}}})},
       {kHoldState, bytes},
       {kHoldState, bytes},
       {kReservationPut,
        Reservation("rsv_9", "k9", v1::Reservation::RESERVATION_STATE_HELD, "a", 2)}});
  first->clear();
  Result<std::vector<InventoryRestore>> second = RecoverInventory(Config(dir), 1, kNow, &report);
  ASSERT_TRUE(second.ok()) << second.message();
  auto products = Products(*second);
  EXPECT_EQ(Levels(products["a"].second), (std::vector<int64_t>{10, 2, 8}));
  ASSERT_EQ((*second)[0].holds.size(), 1u);
  EXPECT_EQ((*second)[0].holds[0].second, (std::vector<Line>{Line{"a", 2}}));
}

TEST(InventoryJournalTest, RecoveryAppliesDecidedReturnsOnceAndDropsUndecidedOnes) {
  // Both reservations sold 4 of their SKU (stock 10 -> 6). rsv_r's return was decided (RETURNED)
  // before the crash but not applied; rsv_c's pending return was placed, never decided.
  testing::TempDir dir;
  std::string report;
  Result<std::vector<InventoryRestore>> first = RecoverInventory(Config(dir), 1, kNow, &report);
  ASSERT_TRUE(first.ok()) << first.message();
  testing::AppendRecords(
      *(*first)[0].log,
      {{kProductPut, Product("r", 6)},
       {kProductPut, Product("c", 6)},
       {kReturnState, EncodeHoldState({"rsv_r", {Line{"r", 4}}, {}})},
       {kReturnState, EncodeHoldState({"rsv_c", {Line{"c", 4}}, {}})},
       {kReservationPut,
        Reservation("rsv_r", "kr", v1::Reservation::RESERVATION_STATE_RETURNED, "r", 4)},
       {kReservationPut,
        Reservation("rsv_c", "kc", v1::Reservation::RESERVATION_STATE_COMMITTED, "c", 4)}});
  first->clear();
  Result<std::vector<InventoryRestore>> second = RecoverInventory(Config(dir), 1, kNow, &report);
  ASSERT_TRUE(second.ok()) << second.message();
  auto products = Products(*second);
  EXPECT_EQ(Levels(products["r"].second), (std::vector<int64_t>{10, 0, 10}));
  EXPECT_EQ(Levels(products["c"].second), (std::vector<int64_t>{6, 0, 6}));
  EXPECT_NE(report.find("1 applied, 1 never decided"), std::string::npos) << report;
  // Recovered again (the applied return is in the new generation's snapshot): still once.
  second->clear();
  Result<std::vector<InventoryRestore>> third = RecoverInventory(Config(dir), 1, kNow, &report);
  ASSERT_TRUE(third.ok()) << third.message();
  products = Products(*third);
  EXPECT_EQ(Levels(products["r"].second), (std::vector<int64_t>{10, 0, 10}));
  EXPECT_EQ(Levels(products["c"].second), (std::vector<int64_t>{6, 0, 6}));
}

TEST(InventoryJournalTest, AnUnknownRecordTypeRefusesToStartNamingTheFile) {
  testing::TempDir dir;
  std::string report;
  Result<std::vector<InventoryRestore>> first = RecoverInventory(Config(dir), 1, kNow, &report);
  ASSERT_TRUE(first.ok()) << first.message();
  testing::AppendRecords(*(*first)[0].log, {{99, "?"}});
  first->clear();  // closes the logs, as the crash did
  Result<std::vector<InventoryRestore>> again = RecoverInventory(Config(dir), 1, kNow, &report);
  EXPECT_EQ(again.code(), StatusCode::kDataLoss);
  EXPECT_NE(again.message().find("shard-0.log"), std::string::npos) << again.message();
}

}  // namespace
}  // namespace percore::inventory
