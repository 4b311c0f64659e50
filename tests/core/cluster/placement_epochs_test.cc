// The epoch placement of a grown cluster (core/cluster/cluster_placement.h, growth_history.h):
// ids drawn before a switch keep their owner, ids drawn after it spread over the new count,
// commerce keys stay on P₀, moving keys follow the new count.
#include <gtest/gtest.h>

#include <string>

#include "core/base/uuid.h"
#include "core/cluster/cluster_placement.h"
#include "core/cluster/growth_history.h"

namespace percore::cluster {
namespace {

constexpr uint64_t kSwitchMs = 1'780'000'000'000;  // T

// A UUIDv7 drawn at `ms` (the generator's stamp is the clock in ns).
Uuid IdAt(UuidV7Generator& ids, uint64_t ms) {
  return ids.Next(static_cast<int64_t>(ms) * 1'000'000, [](const Uuid&) { return true; });
}

ClusterPlacement Grown(PartitionId self) {
  return ClusterPlacement{.partitions = 3,
                          .self = self,
                          .members = {"a:1", "b:2", "c:3"},
                          .first_partitions = 2,
                          .grown = {{kSwitchMs, 3}}};
}

TEST(PlacementEpochsTest, IdsDrawnBeforeTheSwitchKeepTheirOwner) {
  const ClusterPlacement before{.partitions = 2, .self = 0, .members = {"a:1", "b:2"}};
  const ClusterPlacement after = Grown(0);
  UuidV7Generator ids(7);
  int moved_if_rehashed = 0;
  for (int i = 0; i < 3000; ++i) {
    Uuid id = IdAt(ids, kSwitchMs - 5000 + i);  // every one before T
    ASSERT_LT(UuidV7Millis(id.view()), kSwitchMs);
    EXPECT_EQ(after.OwnerOfId(id.view()), before.OwnerOfId(id.view())) << i;
    EXPECT_LT(after.OwnerOfId(id.view()), 2u);
    if (PartitionFor(id.view(), 3) != PartitionFor(id.view(), 2)) ++moved_if_rehashed;
  }
  // Without epochs about two in three would have moved: the test would see it.
  EXPECT_GT(moved_if_rehashed, 1500);
}

TEST(PlacementEpochsTest, IdsDrawnFromTheSwitchOnSpreadOverTheNewCount) {
  const ClusterPlacement after = Grown(2);
  UuidV7Generator ids(11);
  int per_partition[3] = {};
  for (int i = 0; i < 3000; ++i) {
    Uuid id = IdAt(ids, kSwitchMs + i);  // T itself included
    PartitionId owner = after.OwnerOfId(id.view());
    EXPECT_EQ(owner, PartitionFor(id.view(), 3));
    ++per_partition[owner];
  }
  for (int count : per_partition) EXPECT_GT(count, 800);
}

TEST(PlacementEpochsTest, NewPartitionDrawsOnlyIdsItOwnsForGood) {
  const ClusterPlacement after = Grown(2);
  UuidV7Generator ids(3);
  for (int i = 0; i < 200; ++i) {
    Uuid id = ids.Next(static_cast<int64_t>(kSwitchMs + i) * 1'000'000,
                       [&](const Uuid& candidate) { return after.OwnsId(candidate.view()); });
    EXPECT_EQ(after.OwnerOfId(id.view()), 2u);
    // A later growth (to 5 at T2) keeps it there.
    ClusterPlacement later = after;
    later.partitions = 5;
    later.grown.push_back({kSwitchMs + 1'000'000, 5});
    EXPECT_EQ(later.OwnerOfId(id.view()), 2u);
  }
}

TEST(PlacementEpochsTest, CommerceKeysStayOnTheFirstCountAndMovingKeysFollowTheNew) {
  const ClusterPlacement after = Grown(1);
  for (int i = 0; i < 1000; ++i) {
    std::string key = "sku-" + std::to_string(i);
    EXPECT_EQ(after.OwnerOfCommerce(key), PartitionFor(key, 2));
    EXPECT_EQ(after.OwnerOfKind(key, KeyKind::kCommerce), PartitionFor(key, 2));
    EXPECT_EQ(after.OwnerOf(key), PartitionFor(key, 3));
    EXPECT_EQ(after.OwnerOfKind(key, KeyKind::kMoving), PartitionFor(key, 3));
  }
}

TEST(PlacementEpochsTest, NeverGrownEveryKindAgrees) {
  const ClusterPlacement plain{.partitions = 3, .self = 1, .members = {"a:1", "b:2", "c:3"}};
  UuidV7Generator ids(5);
  for (int i = 0; i < 500; ++i) {
    Uuid id = IdAt(ids, kSwitchMs + i);
    EXPECT_EQ(plain.OwnerOfId(id.view()), PartitionFor(id.view(), 3));
    EXPECT_EQ(plain.OwnerOfCommerce(id.view()), PartitionFor(id.view(), 3));
  }
}

TEST(PlacementEpochsTest, SwitchedPlacementIsWhatLaterReadsSee) {
  InstallPlacement(ClusterPlacement{.partitions = 2, .self = 0, .members = {"a:1", "b:2"}});
  const ClusterPlacement& old_view = ProcessPlacement();
  SwitchPlacement(Grown(0));
  EXPECT_EQ(ProcessPlacement().partitions, 3u);
  EXPECT_EQ(old_view.partitions, 2u);  // a call's view stays valid after the switch
  InstallPlacement(ClusterPlacement{});
}

TEST(GrowthHistoryTest, ParsesAndFormatsRoundTrip) {
  std::string error;
  std::optional<GrowthHistory> history =
      ParseGrowthHistory("2,3@1780000000000,5@1790000000000", &error);
  ASSERT_TRUE(history) << error;
  EXPECT_EQ(history->first_partitions, 2u);
  ASSERT_EQ(history->epochs.size(), 2u);
  EXPECT_EQ(history->epochs[0].partitions, 3u);
  EXPECT_EQ(history->epochs[0].since_ms, 1780000000000u);
  EXPECT_EQ(FormatGrowthHistory(*history), "2,3@1780000000000,5@1790000000000");
}

TEST(GrowthHistoryTest, RefusesWhatIsNoHistory) {
  std::string error;
  for (const char* bad : {"", "2", "3@5", "2,3", "2,2@5", "2,3@9,4@8", "2,x@5", "0,1@5"}) {
    EXPECT_FALSE(ParseGrowthHistory(bad, &error)) << bad;
    EXPECT_NE(error.find("--grown"), std::string::npos);
  }
}

}  // namespace
}  // namespace percore::cluster
