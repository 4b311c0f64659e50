#include "core/storage/unique_index_partition.h"

#include <gtest/gtest.h>

#include <string>

namespace percore::storage {
namespace {

using EmailIndex = UniqueIndexPartition<std::string>;

TEST(UniqueIndexPartitionTest, NewIndexIsEmpty) {
  EmailIndex index;
  EXPECT_EQ(index.size(), 0u);
  EXPECT_TRUE(index.empty());
  EXPECT_EQ(index.OwnerOf("a@x"), nullptr);
}

TEST(UniqueIndexPartitionTest, ClaimOfFreeKeyIsNewlyClaimed) {
  EmailIndex index;
  Result<ClaimOutcome> r = index.Claim("a@x", "u1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, ClaimOutcome::kNewlyClaimed);
  ASSERT_NE(index.OwnerOf("a@x"), nullptr);
  EXPECT_EQ(*index.OwnerOf("a@x"), "u1");
  EXPECT_EQ(index.size(), 1u);
}

TEST(UniqueIndexPartitionTest, RepeatedClaimBySameOwnerIsIdempotent) {
  EmailIndex index;
  ASSERT_TRUE(index.Claim("a@x", "u1").ok());
  Result<ClaimOutcome> again = index.Claim("a@x", "u1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, ClaimOutcome::kAlreadyOwned);
  EXPECT_EQ(index.size(), 1u);
}

TEST(UniqueIndexPartitionTest, SecondClaimByOtherOwnerIsAlreadyExists) {
  EmailIndex index;
  ASSERT_TRUE(index.Claim("a@x", "u1").ok());
  Result<ClaimOutcome> r = index.Claim("a@x", "u2");
  EXPECT_EQ(r.code(), StatusCode::kAlreadyExists);
  EXPECT_FALSE(r.message().empty());
  EXPECT_EQ(*index.OwnerOf("a@x"), "u1");
  EXPECT_EQ(index.size(), 1u);
}

TEST(UniqueIndexPartitionTest, FailedClaimReportsTheCurrentOwner) {
  EmailIndex index;
  ASSERT_TRUE(index.Claim("a@x", "u1").ok());
  std::string holder = "unset";
  EXPECT_EQ(index.Claim("a@x", "u2", &holder).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(holder, "u1");
}

TEST(UniqueIndexPartitionTest, SuccessfulClaimLeavesCurrentOwnerOutParamAlone) {
  EmailIndex index;
  std::string holder = "unset";
  ASSERT_TRUE(index.Claim("a@x", "u1", &holder).ok());
  ASSERT_TRUE(index.Claim("a@x", "u1", &holder).ok());
  EXPECT_EQ(holder, "unset");
}

TEST(UniqueIndexPartitionTest, EmptyKeyIsInvalidArgument) {
  EmailIndex index;
  EXPECT_EQ(index.Claim("", "u1").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index.size(), 0u);
}

TEST(UniqueIndexPartitionTest, KeysAreComparedExactly) {
  // Case folding is the caller's job; the index sees distinct bytes as distinct keys.
  EmailIndex index;
  ASSERT_TRUE(index.Claim("a@x", "u1").ok());
  EXPECT_TRUE(index.Claim("A@x", "u2").ok());
  EXPECT_EQ(index.size(), 2u);
}

TEST(UniqueIndexPartitionTest, ReleaseByOwnerFreesTheKey) {
  EmailIndex index;
  ASSERT_TRUE(index.Claim("a@x", "u1").ok());
  EXPECT_TRUE(index.Release("a@x", "u1"));
  EXPECT_EQ(index.OwnerOf("a@x"), nullptr);
  EXPECT_EQ(index.size(), 0u);
}

TEST(UniqueIndexPartitionTest, ReleaseByOtherOwnerKeepsTheClaim) {
  EmailIndex index;
  ASSERT_TRUE(index.Claim("a@x", "u1").ok());
  EXPECT_FALSE(index.Release("a@x", "u2"));
  EXPECT_EQ(*index.OwnerOf("a@x"), "u1");
}

TEST(UniqueIndexPartitionTest, ReleaseOfFreeKeyReturnsFalse) {
  EmailIndex index;
  EXPECT_FALSE(index.Release("a@x", "u1"));
  ASSERT_TRUE(index.Claim("a@x", "u1").ok());
  ASSERT_TRUE(index.Release("a@x", "u1"));
  EXPECT_FALSE(index.Release("a@x", "u1"));
}

TEST(UniqueIndexPartitionTest, KeyCanBeReclaimedByAnotherOwnerAfterRelease) {
  EmailIndex index;
  ASSERT_TRUE(index.Claim("a@x", "u1").ok());
  ASSERT_TRUE(index.Release("a@x", "u1"));
  Result<ClaimOutcome> r = index.Claim("a@x", "u2");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, ClaimOutcome::kNewlyClaimed);
  EXPECT_EQ(*index.OwnerOf("a@x"), "u2");
}

TEST(UniqueIndexPartitionTest, LateReleaseNeverFreesSomeoneElsesClaim) {
  // u1's row write failed and its release is delivered twice (a retry); meanwhile u2 claimed.
  EmailIndex index;
  ASSERT_TRUE(index.Claim("a@x", "u1").ok());
  ASSERT_TRUE(index.Release("a@x", "u1"));
  ASSERT_TRUE(index.Claim("a@x", "u2").ok());
  EXPECT_FALSE(index.Release("a@x", "u1"));
  EXPECT_EQ(*index.OwnerOf("a@x"), "u2");
}

TEST(UniqueIndexPartitionTest, OwnerMayBeANonStringType) {
  UniqueIndexPartition<int> index;
  ASSERT_TRUE(index.Claim("k", 7).ok());
  int holder = 0;
  EXPECT_EQ(index.Claim("k", 8, &holder).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(holder, 7);
  EXPECT_FALSE(index.Release("k", 8));
  EXPECT_TRUE(index.Release("k", 7));
}

}  // namespace
}  // namespace percore::storage
