// The placement a --data-dir records at its first start (core/cluster/data_dir_placement.h): a
// later start must extend it (same P₀, the recorded growths then newer ones) as the same
// partition; anything else is FAILED_PRECONDITION and leaves the record as it was.
#include "core/cluster/data_dir_placement.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace percore::cluster {
namespace {

ClusterPlacement Placement(size_t partitions, PartitionId self, size_t first = 0,
                           std::vector<PlacementEpoch> grown = {}) {
  return ClusterPlacement{.partitions = partitions,
                          .self = self,
                          .members = std::vector<std::string>(partitions, "h:1"),
                          .first_partitions = first,
                          .grown = std::move(grown)};
}

class DataDirPlacementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("percore-placement-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Record() const {
    std::ifstream in(dir_ / "CLUSTER");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  Status Check(const ClusterPlacement& placement, bool joining = false) {
    return CheckDataDirPlacement(dir_.string(), placement, joining);
  }
  std::filesystem::path dir_;
};

TEST_F(DataDirPlacementTest, FirstStartRecordsAndTheSameStartPasses) {
  ASSERT_TRUE(Check(Placement(3, 1)).ok());
  EXPECT_EQ(Record(), "history=3\npartition=1\n");
  EXPECT_TRUE(Check(Placement(3, 1)).ok());
}

TEST_F(DataDirPlacementTest, ASingleProcessRecordsOnePartition) {
  ASSERT_TRUE(Check(ClusterPlacement{}).ok());
  EXPECT_EQ(Record(), "history=1\npartition=0\n");
  EXPECT_EQ(Check(Placement(2, 0)).code(), StatusCode::kFailedPrecondition);
}

TEST_F(DataDirPlacementTest, AnotherCountWithoutGrownIsRefused) {
  ASSERT_TRUE(Check(Placement(2, 1)).ok());
  Status larger = Check(Placement(3, 1));
  EXPECT_EQ(larger.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(larger.message().find("tools/cluster grow"), std::string::npos) << larger.message();
  EXPECT_EQ(Check(Placement(1, 0)).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Record(), "history=2\npartition=1\n");
}

TEST_F(DataDirPlacementTest, GrownExplainsALargerCountAndIsThenRequired) {
  ASSERT_TRUE(Check(Placement(2, 1)).ok());
  EXPECT_EQ(Check(Placement(3, 1, 1, {{1000, 3}})).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(Check(Placement(3, 1, 2, {{1000, 3}})).ok());
  EXPECT_EQ(Record(), "history=2,3@1000\npartition=1\n");
  Status bare = Check(Placement(3, 1));
  EXPECT_EQ(bare.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(bare.message().find("--grown 2,3@1000"), std::string::npos) << bare.message();
  EXPECT_EQ(Check(Placement(3, 1, 2, {{999, 3}})).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(Check(Placement(5, 1, 2, {{1000, 3}, {2000, 5}})).ok());
  EXPECT_EQ(Record(), "history=2,3@1000,5@2000\npartition=1\n");
  EXPECT_EQ(Check(Placement(3, 1, 2, {{1000, 3}})).code(), StatusCode::kFailedPrecondition);
}

TEST_F(DataDirPlacementTest, AnotherPartitionIsRefused) {
  ASSERT_TRUE(Check(Placement(3, 1)).ok());
  Status other = Check(Placement(3, 2));
  EXPECT_EQ(other.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(other.message().find("holds partition 1's data"), std::string::npos) << other.message();
}

TEST_F(DataDirPlacementTest, AFileThatIsNotARecordIsRefused) {
  std::ofstream(dir_ / "CLUSTER") << "garbage\n";
  EXPECT_EQ(Check(Placement(3, 1)).code(), StatusCode::kFailedPrecondition);
}

TEST_F(DataDirPlacementTest, AJoiningPartitionMayJoinTheNextGrowthAfterAnAbandonedOne) {
  ASSERT_TRUE(Check(Placement(3, 2, 2, {{1000, 3}}), /*joining=*/true).ok());
  EXPECT_EQ(Record(), "history=2,3@1000\npartition=2\njoining=1\n");
  // Abandoned before any switch; the tool's next run grows at another time.
  ASSERT_TRUE(Check(Placement(3, 2, 2, {{2000, 3}}), /*joining=*/true).ok());
  EXPECT_EQ(Record(), "history=2,3@2000\npartition=2\njoining=1\n");
  // Not joining, the last growth must be the recorded one; restarted with it, the mark goes.
  EXPECT_EQ(Check(Placement(3, 2, 2, {{3000, 3}})).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(Check(Placement(3, 2, 2, {{2000, 3}})).ok());
  EXPECT_EQ(Record(), "history=2,3@2000\npartition=2\n");
  // A member that is not joining never replaces a growth.
  EXPECT_EQ(Check(Placement(3, 2, 2, {{4000, 3}}), /*joining=*/true).code(),
            StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace percore::cluster
