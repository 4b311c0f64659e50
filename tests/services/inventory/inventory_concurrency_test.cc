// inventory.v1 under concurrency: many clients on their own connections (so calls arrive on
// both shards) racing for the same stock. Nothing is oversold, nothing deadlocks, totals are
// conserved, and one key makes one reservation.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/services/inventory/inventory_test_support.h"

namespace percore::inventory_test {
namespace {

class InventoryConcurrencyTest : public InventoryServiceTest {
 protected:
  // `count` stubs, each on its own connection.
  std::vector<std::unique_ptr<Stub>> Stubs(int count) {
    std::vector<std::unique_ptr<Stub>> stubs;
    for (int i = 0; i < count; ++i) stubs.push_back(NewStub());
    return stubs;
  }
};

TEST_F(InventoryConcurrencyTest, FiftySingleUnitReservationsForTenUnitsExactlyTenSucceed) {
  std::string sku = SkuOnShard("HOT", 1);
  MustCreate(sku, 10);
  auto stubs = Stubs(10);
  std::atomic<int> ok{0}, short_of_stock{0}, other{0};
  std::atomic<bool> done{false}, negative_seen{false};
  // A reader that watches the levels while the race runs.
  std::thread watcher([&] {
    auto stub = NewStub();
    while (!done.load()) {
      v1::Product product;
      if (GetProduct(*stub, sku, &product).ok() &&
          (product.available() < 0 || product.reserved() > product.stock())) {
        negative_seen.store(true);
      }
    }
  });
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      Status status = ReserveStock(*stubs[i % stubs.size()],
                                   ReserveRequest("order-" + std::to_string(i), {{sku, 1}}));
      if (status.ok()) {
        ok.fetch_add(1);
      } else if (status.error_code() == StatusCode::FAILED_PRECONDITION) {
        short_of_stock.fetch_add(1);
      } else {
        other.fetch_add(1);
        ADD_FAILURE() << Describe(status);
      }
    });
  }
  for (auto& t : threads) t.join();
  done.store(true);
  watcher.join();
  EXPECT_EQ(ok.load(), 10);
  EXPECT_EQ(short_of_stock.load(), 40);
  EXPECT_EQ(other.load(), 0);
  EXPECT_FALSE(negative_seen.load()) << "available went negative during the race";
  EXPECT_EQ(Levels(sku), (std::vector<int64_t>{10, 10, 0}));
}

TEST_F(InventoryConcurrencyTest, OverlappingMultiShardReservationsNeverOversellAndConserveTotals) {
  constexpr int64_t kStock = 30;
  std::vector<std::string> skus = {SkuOnShard("X", 0), SkuOnShard("Y", 0), SkuOnShard("X", 1),
                                   SkuOnShard("Y", 1)};
  for (const auto& sku : skus) MustCreate(sku, kStock);
  auto stubs = Stubs(8);

  // Each worker reserves a few overlapping SKUs (lines in differing orders, on both shards),
  // then commits, releases or keeps what it got.
  struct Outcome {
    std::map<std::string, int64_t> committed, held;
  };
  constexpr int kWorkers = 16, kRounds = 12;
  std::vector<Outcome> outcomes(kWorkers);
  std::atomic<int> granted{0}, refused{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      Stub& stub = *stubs[w % stubs.size()];
      for (int round = 0; round < kRounds; ++round) {
        std::vector<LineSpec> lines;
        for (int k = 0; k < 3; ++k) {
          const std::string& sku = skus[(w + round + k * (w % 2 ? 1 : 3)) % skus.size()];
          bool dup = false;
          for (const auto& l : lines) dup |= l.sku == sku;
          if (!dup) lines.push_back({sku, 1 + (w + k) % 3});
        }
        if (w % 2) std::reverse(lines.begin(), lines.end());
        v1::Reservation r;
        std::string key = "w" + std::to_string(w) + "-r" + std::to_string(round);
        Status status = ReserveStock(stub, ReserveRequest(key, lines), &r);
        if (!status.ok()) {
          EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION) << Describe(status);
          refused.fetch_add(1);
          continue;
        }
        granted.fetch_add(1);
        int action = (w + round) % 3;
        if (action == 0) {
          ASSERT_TRUE(CommitReservation(stub, r.id()).ok());
          for (const auto& l : lines) outcomes[w].committed[l.sku] += l.quantity;
        } else if (action == 1) {
          ASSERT_TRUE(ReleaseReservation(stub, r.id()).ok());
        } else {
          for (const auto& l : lines) outcomes[w].held[l.sku] += l.quantity;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  // The race was real: some reservations got stock, others found it gone.
  EXPECT_GT(granted.load(), 0);
  EXPECT_GT(refused.load(), 0);

  for (const auto& sku : skus) {
    int64_t committed = 0, held = 0;
    for (const auto& o : outcomes) {
      if (auto it = o.committed.find(sku); it != o.committed.end()) committed += it->second;
      if (auto it = o.held.find(sku); it != o.held.end()) held += it->second;
    }
    v1::Product product = MustGet(sku);
    EXPECT_EQ(product.stock(), kStock - committed) << sku;
    EXPECT_EQ(product.reserved(), held) << sku;
    EXPECT_EQ(product.available(), kStock - committed - held) << sku;
    EXPECT_GE(product.available(), 0) << sku;
  }
}

TEST_F(InventoryConcurrencyTest, SameKeyConcurrentlyMakesOneReservation) {
  std::string a = SkuOnShard("A", 0), b = SkuOnShard("B", 1);
  MustCreate(a, 100);
  MustCreate(b, 100);
  auto stubs = Stubs(8);
  constexpr int kCalls = 24;
  std::vector<std::string> ids(kCalls);
  std::vector<Status> statuses(kCalls);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      v1::Reservation r;
      statuses[i] =
          ReserveStock(*stubs[i % stubs.size()], ReserveRequest("the-order", {{a, 3}, {b, 4}}), &r);
      ids[i] = r.id();
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> distinct;
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_TRUE(statuses[i].ok()) << Describe(statuses[i]);
    distinct.insert(ids[i]);
  }
  EXPECT_EQ(distinct.size(), 1u);
  EXPECT_EQ(Levels(a), (std::vector<int64_t>{100, 3, 97}));
  EXPECT_EQ(Levels(b), (std::vector<int64_t>{100, 4, 96}));
}

TEST_F(InventoryConcurrencyTest, SameKeyConcurrentlyWhenShortFailsEveryCallAndHoldsNothing) {
  std::string a = SkuOnShard("A", 0), b = SkuOnShard("B", 1);
  MustCreate(a, 100);
  MustCreate(b, 1);
  auto stubs = Stubs(6);
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&, i] {
      Status status =
          ReserveStock(*stubs[i % stubs.size()], ReserveRequest("short-order", {{a, 3}, {b, 2}}));
      if (status.error_code() == StatusCode::FAILED_PRECONDITION) failed.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 12);
  EXPECT_EQ(Levels(a), (std::vector<int64_t>{100, 0, 100}));
  EXPECT_EQ(Levels(b), (std::vector<int64_t>{1, 0, 1}));
}

TEST_F(InventoryConcurrencyTest, ConcurrentCommitsAndReleasesOfOneReservationSettleOnce) {
  std::string a = SkuOnShard("A", 0), b = SkuOnShard("B", 1);
  MustCreate(a, 10);
  MustCreate(b, 10);
  v1::Reservation r = MustReserve(ReserveRequest("race", {{a, 2}, {b, 3}}));
  auto stubs = Stubs(6);
  std::atomic<int> commits{0}, releases{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&, i] {
      if (i % 2) {
        if (CommitReservation(*stubs[i % stubs.size()], r.id()).ok()) commits.fetch_add(1);
      } else {
        if (ReleaseReservation(*stubs[i % stubs.size()], r.id()).ok()) releases.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  // Exactly one of the two outcomes won, and every call for it succeeded.
  ASSERT_TRUE((commits.load() == 6 && releases.load() == 0) ||
              (commits.load() == 0 && releases.load() == 6))
      << "commits " << commits.load() << ", releases " << releases.load();
  if (commits.load() == 6) {
    EXPECT_EQ(Levels(a), (std::vector<int64_t>{8, 0, 8}));
    EXPECT_EQ(Levels(b), (std::vector<int64_t>{7, 0, 7}));
  } else {
    EXPECT_EQ(Levels(a), (std::vector<int64_t>{10, 0, 10}));
    EXPECT_EQ(Levels(b), (std::vector<int64_t>{10, 0, 10}));
  }
}

}  // namespace
}  // namespace percore::inventory_test
