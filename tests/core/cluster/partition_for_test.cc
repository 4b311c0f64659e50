#include "core/cluster/partition_for.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "core/base/uuid.h"
#include "core/cluster/cluster_placement.h"
#include "core/runtime/shard_for.h"

namespace percore::cluster {
namespace {

static_assert(PartitionFor("any key", 1) == 0);

std::string Key(int i) { return "user-" + std::to_string(i) + "@example.com"; }

TEST(PartitionForTest, ValuesArePinnedAcrossBuilds) {
  // If these change, every key of every cluster moves to another process: announce it.
  const uint64_t h =
      storage::internal::Fmix64(storage::StableHash64("alice@example.com") ^ kPartitionSalt);
  EXPECT_EQ(PartitionFor("alice@example.com", 3), h % 3);
  EXPECT_EQ(h, 0x6d5b00e276915c02ULL);
  EXPECT_EQ(PartitionFor("alice@example.com", 3), 0u);
}

TEST(PartitionForTest, ResultIsBelowPartitionCountAndBalanced) {
  for (size_t p : {2u, 3u, 5u}) {
    std::array<int, 5> counts{};
    for (int i = 0; i < 30000; ++i) {
      PartitionId partition = PartitionFor(Key(i), p);
      ASSERT_LT(partition, p);
      ++counts[partition];
    }
    for (size_t i = 0; i < p; ++i) {
      EXPECT_NEAR(counts[i], 30000.0 / p, 30000.0 / p * 0.05) << "partition " << i << " of " << p;
    }
  }
}

// Partition and shard are chosen independently: with P = S = 2 each (partition, shard) cell
// gets a quarter of the keys, so every process spreads its keys over all its cores.
TEST(PartitionForTest, PartitionAndShardDoNotCorrelate) {
  for (size_t p : {2u, 3u, 4u}) {
    for (size_t s : {2u, 3u, 4u}) {
      std::array<std::array<int, 4>, 4> cells{};
      const int n = 48000;
      for (int i = 0; i < n; ++i) {
        const std::string key = Key(i);
        ++cells[PartitionFor(key, p)][runtime::ShardFor(key, s)];
      }
      const double expected = static_cast<double>(n) / static_cast<double>(p * s);
      for (size_t a = 0; a < p; ++a) {
        for (size_t b = 0; b < s; ++b) {
          EXPECT_NEAR(cells[a][b], expected, expected * 0.1)
              << "partition " << a << "/" << p << ", shard " << b << "/" << s;
        }
      }
    }
  }
}

TEST(ClusterPlacementTest, OwnsItsOwnKeysOnly) {
  ClusterPlacement placement{.partitions = 3, .self = 1, .members = {"a:1", "b:2", "c:3"}};
  int owned = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string key = Key(i);
    EXPECT_EQ(placement.Owns(key), PartitionFor(key, 3) == 1);
    owned += placement.Owns(key) ? 1 : 0;
  }
  EXPECT_GT(owned, 800);
  EXPECT_LT(owned, 1200);
  EXPECT_TRUE(ClusterPlacement{}.Owns("anything"));  // a single process owns every key
}

// What id generators do: draw until the id lands on this shard and this partition; the id then
// names both, so any member finds the owner from the id alone.
TEST(ClusterPlacementTest, DrawnIdsNameTheirPartitionAndShard) {
  ClusterPlacement placement{.partitions = 3, .self = 2, .members = {"a:1", "b:2", "c:3"}};
  UuidV7Generator ids(42);
  for (int i = 0; i < 200; ++i) {
    Uuid id = ids.Next(1'700'000'000'000'000'000LL + i, [&](const Uuid& candidate) {
      return runtime::ShardFor(candidate.view(), 4) == 3 && placement.Owns(candidate.view());
    });
    EXPECT_EQ(PartitionFor(id.view(), 3), 2u);
    EXPECT_EQ(runtime::ShardFor(id.view(), 4), 3u);
  }
}

}  // namespace
}  // namespace percore::cluster
