// Inventory snapshots while serving (issue 10), on a real runtime and real files: a snapshot
// taken while reservations are placed, committed and released and stock is adjusted between its
// chunks, plus the log from its cut, recovers exactly the live state — every product's stock and
// reserved units, every open hold, every reservation record — with nothing left to settle.

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "services/inventory/inventory_service.h"
#include "services/inventory/service_clock.h"
#include "tests/core/durability/one_shard_service.h"
#include "tests/core/durability/temp_dir.h"

namespace percore::inventory {
namespace {

// What a shard holds, comparable with what recovery hands it.
struct State {
  std::map<std::string, std::vector<int64_t>> products;  // sku -> stock, reserved, available
  std::map<std::string, std::vector<Line>> holds;
  std::map<std::string, std::string> reservations;  // id -> serialized record
  bool operator==(const State&) const = default;
};

std::vector<int64_t> Levels(const v1::Product& product) {
  return {product.stock(), product.reserved(), product.available()};
}

class InventorySnapshotTest : public ::testing::Test {
 protected:
  InventoryShard& shard() { return on_.shard(); }

  // Shard thread: one more call in flight until `done` runs.
  template <class T>
  Done<T> Track(std::function<void(const T&)> then = nullptr) {
    ++on_.in_flight;
    return [this, then](Result<T> result) {
      --on_.in_flight;
      if (result.ok() && then) then(*result);
    };
  }
  std::string Sku(size_t i) { return "sku-" + std::to_string(i); }
  // Shard thread: a reservation of 1-2 units of one or two products, remembered when HELD.
  void Reserve(std::mt19937& rng) {
    v1::ReserveStockRequest request;
    request.set_reservation_key("key-" + std::to_string(next_key_++));
    size_t first = rng() % kProducts;
    for (size_t sku : {first, (first + 1 + rng() % 7) % kProducts}) {
      v1::StockLine* line = request.add_lines();
      line->set_sku(Sku(sku));
      line->set_quantity(1 + rng() % 2);
      if (rng() % 2 == 0) break;
    }
    on_.service().ReserveStock(request, Track<v1::Reservation>([this](const v1::Reservation& r) {
                                 held_.push_back(r.id());
                               }));
  }
  // Shard thread: commits or releases a HELD reservation.
  void Settle(std::mt19937& rng) {
    if (held_.empty()) return;
    size_t at = rng() % held_.size();
    std::string id = held_[at];
    held_.erase(held_.begin() + at);
    if (rng() % 2 == 0) {
      v1::CommitReservationRequest request;
      request.set_reservation_id(id);
      on_.service().CommitReservation(
          request, Track<v1::Reservation>([this](const auto& r) { committed_.push_back(r.id()); }));
    } else {
      v1::ReleaseReservationRequest request;
      request.set_reservation_id(id);
      on_.service().ReleaseReservation(request, Track<v1::Reservation>());
    }
  }
  // Shard thread: returns a COMMITTED reservation's units (ReturnReservation).
  void Return(std::mt19937& rng) {
    if (committed_.empty()) return;
    size_t at = rng() % committed_.size();
    v1::ReturnReservationRequest request;
    request.set_reservation_id(committed_[at]);
    committed_.erase(committed_.begin() + at);
    on_.service().ReturnReservation(request, Track<v1::Reservation>());
  }
  void Adjust(std::mt19937& rng) {
    v1::AdjustStockRequest request;
    request.set_sku(Sku(rng() % kProducts));
    request.set_delta(1 + rng() % 3);
    on_.service().AdjustStock(request, Track<v1::Product>());
  }
  State Live() {
    return on_.Run([&] {
      State state;
      for (const auto& [sku, product] : shard().stock.ScanAfter(nullptr, shard().stock.size())) {
        state.products[sku] = Levels(product);
      }
      for (const auto& [id, lines] : shard().stock.holds()) state.holds[id] = lines;
      for (const auto& [id, record] : shard().reservations.records()) {
        if (!record.pending) state.reservations[id] = record.reservation.SerializeAsString();
      }
      return state;
    });
  }

  static constexpr size_t kProducts = 2000;
  testing::TempDir dir_;
  durability::DurabilityConfig config_ = testing::ManualSnapshotConfig(dir_.path());
  testing::OneShardService<InventoryService> on_{
      std::make_unique<InventoryService>(InventoryServiceOptions{.durability = config_})};
  // Shard thread.
  int next_key_ = 0;
  std::vector<std::string> held_;
  std::vector<std::string> committed_;
};

TEST_F(InventorySnapshotTest, SnapshotWhileReservingAndTheLogAfterItsCutRecoverTheLiveState) {
  std::mt19937 rng(11);
  on_.Run([&] {
    for (size_t i = 0; i < kProducts; ++i) {
      v1::CreateProductRequest request;
      request.set_sku(Sku(i));
      request.set_name("Widget " + std::to_string(i));
      request.mutable_price()->set_amount_minor(1299);
      request.mutable_price()->set_currency("EUR");
      request.set_initial_stock(1000);
      on_.service().CreateProduct(request, Track<v1::Product>());
    }
    return 0;
  });
  on_.WaitIdle();
  on_.Run([&] {
    for (int i = 0; i < 6000; ++i) Reserve(rng);
    return 0;
  });
  on_.WaitIdle();
  on_.Run([&] {
    for (int i = 0; i < 1000; ++i) Settle(rng);
    return 0;
  });
  on_.WaitIdle();

  // The snapshot, with a step behind each chunk that reserves, settles and adjusts.
  const int steps = on_.SnapshotWhile([&] {
    Reserve(rng);
    Settle(rng);
    Settle(rng);
    Return(rng);
    Adjust(rng);
  });
  // Chunks ran with writes between them.
  EXPECT_GT(steps, 5);
  const durability::LogStats stats = on_.Run([&] { return *shard().journal.stats(); });
  EXPECT_EQ(stats.snapshots, 1u);
  EXPECT_GT(stats.last_snapshot_records, kProducts);
  // More after the snapshot, in the log only.
  on_.Run([&] {
    for (int i = 0; i < 200; ++i) {
      Reserve(rng);
      Settle(rng);
      Return(rng);
    }
    return 0;
  });
  on_.WaitIdle();
  const State live = Live();
  EXPECT_TRUE(on_.Run([&] { return shard().stock.returns().empty(); }));  // all applied
  EXPECT_GT(on_.Run([&] {
    size_t returned = 0;
    for (const auto& [id, record] : shard().reservations.records()) {
      returned += record.reservation.state() == v1::Reservation::RESERVATION_STATE_RETURNED;
    }
    return returned;
  }),
            0u);
  EXPECT_FALSE(live.holds.empty());
  on_.Stop();

  std::string report;
  Result<std::vector<InventoryRestore>> restore =
      RecoverInventory(config_, 1, internal::NowNanos(), &report);
  ASSERT_TRUE(restore.ok()) << restore.message();
  EXPECT_EQ(report.find("settled holds"), std::string::npos) << report;
  EXPECT_EQ(report.find("pending stock returns"), std::string::npos) << report;
  State recovered;
  for (const v1::Product& product : (*restore)[0].products) {
    recovered.products[product.sku()] = Levels(product);
  }
  for (const auto& [id, lines] : (*restore)[0].holds) recovered.holds[id] = lines;
  for (const v1::Reservation& reservation : (*restore)[0].reservations) {
    recovered.reservations[reservation.id()] = reservation.SerializeAsString();
  }
  EXPECT_EQ(recovered.products, live.products);
  EXPECT_EQ(recovered.holds, live.holds);
  EXPECT_EQ(recovered.reservations, live.reservations);
}

}  // namespace
}  // namespace percore::inventory
