// Randomized model tests: several partitions routed by PartitionOf must behave exactly like one
// std::map, including paged global scans built from ScanAfter + MergeSortedRuns, and a
// partitioned unique index must behave like one std::map of claims. Seeds are fixed, so a
// failure reproduces; the seed and op index are in every failure message.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/result.h"
#include "core/storage/compact_blob.h"
#include "core/storage/merge_cursor.h"
#include "core/storage/partition_of.h"
#include "core/storage/table_partition.h"
#include "core/storage/unique_index_partition.h"
#include "tests/core/storage/numbered_key.h"

namespace percore::storage {
namespace {

constexpr size_t kPartitions = 4;

// A table spread over partitions the way the service spreads it over shards.
class ShardedTable {
 public:
  using Partition = TablePartition<std::string, CompactBlob>;
  struct Row {
    std::string key;
    std::string value;
  };

  Partition& Owner(std::string_view key) { return parts_[PartitionOf(key, kPartitions)]; }

  // One page of the global order: every partition contributes up to limit + 1 rows after the
  // cursor (copied out, as a cross-shard answer would be), and the merge keeps `limit`.
  MergedPage<Row> Page(const std::optional<std::string>& cursor, size_t limit) const {
    std::vector<std::vector<Row>> runs(kPartitions);
    for (size_t p = 0; p < kPartitions; ++p) {
      const std::string* after = cursor ? &*cursor : nullptr;
      parts_[p].ScanAfter(after, limit + 1, [&](const std::string& k, const CompactBlob& v) {
        runs[p].push_back({k, std::string(v.view())});
      });
    }
    return MergeSortedRuns(std::move(runs), limit,
                           [](const Row& row) -> const std::string& { return row.key; });
  }

  size_t partition_size(size_t p) const { return parts_[p].size(); }

  size_t size() const {
    size_t total = 0;
    for (const Partition& p : parts_) total += p.size();
    return total;
  }

 private:
  Partition parts_[kPartitions];
};

std::string KeyFor(uint32_t n) { return Numbered("user-", n); }

// Walks the whole table page by page and checks it against the model's order.
void ExpectPagedWalkMatches(const ShardedTable& table,
                            const std::map<std::string, std::string>& model, std::mt19937& rng,
                            const std::string& where) {
  std::uniform_int_distribution<size_t> page_size(1, 37);
  std::vector<std::pair<std::string, std::string>> walked;
  std::optional<std::string> cursor;
  for (int pages = 0;; ++pages) {
    ASSERT_LE(pages, static_cast<int>(model.size()) + 1) << where << ": walk does not end";
    MergedPage<ShardedTable::Row> page = table.Page(cursor, page_size(rng));
    for (auto& row : page.items) walked.emplace_back(row.key, row.value);
    if (!page.more) break;
    ASSERT_FALSE(page.items.empty()) << where << ": `more` with an empty page";
    cursor = walked.back().first;
  }
  std::vector<std::pair<std::string, std::string>> expected(model.begin(), model.end());
  ASSERT_EQ(walked, expected) << where;
}

// A model test runs once per fixed seed, which drives its random operations and names each
// failure.
class SeededModelTest : public ::testing::TestWithParam<uint32_t> {
 protected:
  const uint32_t seed_ = GetParam();
  std::mt19937 rng_{seed_};
};

TEST_P(SeededModelTest, PartitionedTableMatchesASingleMap) {
  std::uniform_int_distribution<uint32_t> key_dist(0, 1499);
  std::uniform_int_distribution<int> op_dist(0, 99);
  std::uniform_int_distribution<size_t> limit_dist(0, 40);

  ShardedTable table;
  std::map<std::string, std::string> model;
  constexpr int kOps = 20000;
  for (int i = 0; i < kOps; ++i) {
    const std::string where = Numbered("seed ", seed_) + Numbered(" op ", i);
    const std::string key = KeyFor(key_dist(rng_));
    const int op = op_dist(rng_);
    if (op < 40) {  // put
      const std::string value = key + Numbered("#", i);
      const bool inserted = table.Owner(key).Put(key, CompactBlob::CopyOf(value));
      const bool model_inserted = model.insert_or_assign(key, value).second;
      ASSERT_EQ(inserted, model_inserted) << where;
    } else if (op < 65) {  // get
      const CompactBlob* got = table.Owner(key).Get(key);
      auto it = model.find(key);
      ASSERT_EQ(got != nullptr, it != model.end()) << where;
      if (got != nullptr) {
        ASSERT_EQ(got->view(), it->second) << where;
      }
    } else if (op < 85) {  // erase
      ASSERT_EQ(table.Owner(key).Erase(key), model.erase(key) == 1) << where;
    } else if (op < 99) {  // one page after a random cursor, present or not
      const size_t limit = limit_dist(rng_);
      std::optional<std::string> cursor;
      if (op_dist(rng_) >= 10) cursor = key;
      MergedPage<ShardedTable::Row> page = table.Page(cursor, limit);
      auto it = cursor ? model.upper_bound(*cursor) : model.begin();
      for (const auto& row : page.items) {
        ASSERT_NE(it, model.end()) << where;
        ASSERT_EQ(row.key, it->first) << where;
        ASSERT_EQ(row.value, it->second) << where;
        ++it;
      }
      ASSERT_EQ(
          page.items.size(),
          std::min<size_t>(limit, std::distance(cursor ? model.upper_bound(*cursor) : model.begin(),
                                                model.end())))
          << where;
      ASSERT_EQ(page.more, it != model.end()) << where;
    } else {  // a full paged walk now and then
      ExpectPagedWalkMatches(table, model, rng_, where);
    }
    ASSERT_EQ(table.size(), model.size()) << where;
  }
  ExpectPagedWalkMatches(table, model, rng_, Numbered("seed ", seed_) + " final");
  // The walk crossed partitions: every one of them held part of the keys.
  for (size_t p = 0; p < kPartitions; ++p) EXPECT_GT(table.partition_size(p), 50u) << p;
}

TEST_P(SeededModelTest, PartitionedIndexMatchesASingleMap) {
  std::uniform_int_distribution<int> key_dist(0, 199);
  std::uniform_int_distribution<int> owner_dist(0, 5);
  std::uniform_int_distribution<int> op_dist(0, 99);

  UniqueIndexPartition<std::string> parts[kPartitions];
  auto owner_of = [&](const std::string& key) -> auto& {
    return parts[PartitionOf(key, kPartitions)];
  };
  std::map<std::string, std::string> model;
  constexpr int kOps = 20000;
  for (int i = 0; i < kOps; ++i) {
    const std::string where = Numbered("seed ", seed_) + Numbered(" op ", i);
    const std::string key = Numbered("mail", key_dist(rng_)) + "@example.com";
    const std::string owner = Numbered("u", owner_dist(rng_));
    const int op = op_dist(rng_);
    auto it = model.find(key);
    if (op < 50) {  // claim
      std::string holder;
      Result<ClaimOutcome> r = owner_of(key).Claim(key, owner, &holder);
      if (it == model.end()) {
        ASSERT_TRUE(r.ok()) << where;
        ASSERT_EQ(*r, ClaimOutcome::kNewlyClaimed) << where;
        model.emplace(key, owner);
      } else if (it->second == owner) {
        ASSERT_TRUE(r.ok()) << where;
        ASSERT_EQ(*r, ClaimOutcome::kAlreadyOwned) << where;
      } else {
        ASSERT_EQ(r.code(), StatusCode::kAlreadyExists) << where;
        ASSERT_EQ(holder, it->second) << where;
      }
    } else if (op < 85) {  // release
      const bool model_released = it != model.end() && it->second == owner;
      ASSERT_EQ(owner_of(key).Release(key, owner), model_released) << where;
      if (model_released) model.erase(it);
    } else {  // owner lookup
      const std::string* got = owner_of(key).OwnerOf(key);
      ASSERT_EQ(got != nullptr, it != model.end()) << where;
      if (got != nullptr) {
        ASSERT_EQ(*got, it->second) << where;
      }
    }
    size_t total = 0;
    for (const auto& p : parts) total += p.size();
    ASSERT_EQ(total, model.size()) << where;
  }
}

INSTANTIATE_TEST_SUITE_P(FixedSeeds, SeededModelTest, ::testing::Values(1u, 2u, 3u, 20240601u));

// The claim -> write row -> release protocol of unique_index_partition.h, with many requests
// for the same key interleaved step by step in a random order, as shards would run them.
struct CreateRequest {
  enum class Step { kClaim, kWriteRow, kDone };
  std::string owner;
  Step step = Step::kClaim;
  bool row_write_fails = false;
  bool held_new_claim = false;
  bool succeeded = false;
  bool rejected = false;  // kAlreadyExists
};

// Runs the requests to completion in a random interleaving and returns them.
std::vector<CreateRequest> RunInterleaved(UniqueIndexPartition<std::string>& index,
                                          std::vector<CreateRequest> requests,
                                          const std::string& key, std::mt19937& rng) {
  std::vector<size_t> pending(requests.size());
  for (size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  while (!pending.empty()) {
    std::uniform_int_distribution<size_t> pick(0, pending.size() - 1);
    const size_t slot = pick(rng);
    CreateRequest& req = requests[pending[slot]];
    if (req.step == CreateRequest::Step::kClaim) {
      Result<ClaimOutcome> r = index.Claim(key, req.owner);
      if (!r.ok()) {
        EXPECT_EQ(r.code(), StatusCode::kAlreadyExists);
        req.rejected = true;
        req.step = CreateRequest::Step::kDone;
      } else {
        req.held_new_claim = *r == ClaimOutcome::kNewlyClaimed;
        req.step = CreateRequest::Step::kWriteRow;
      }
    } else {  // kWriteRow on the row's shard, then the compensating release on failure
      if (req.row_write_fails) {
        if (req.held_new_claim) {
          EXPECT_TRUE(index.Release(key, req.owner));
        }
      } else {
        req.succeeded = true;
      }
      req.step = CreateRequest::Step::kDone;
    }
    if (req.step == CreateRequest::Step::kDone) {
      pending[slot] = pending.back();
      pending.pop_back();
    }
  }
  return requests;
}

TEST(UniqueIndexProtocolTest, ConcurrentClaimsOfOneKeyHaveExactlyOneWinner) {
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    std::mt19937 rng(seed);
    UniqueIndexPartition<std::string> index;
    std::vector<CreateRequest> requests;
    for (int i = 0; i < 8; ++i) requests.push_back({.owner = Numbered("u", i)});
    requests = RunInterleaved(index, std::move(requests), "same@example.com", rng);
    int winners = 0;
    for (const CreateRequest& req : requests) {
      winners += req.succeeded;
      EXPECT_NE(req.succeeded, req.rejected) << "seed " << seed;
      if (req.succeeded) {
        ASSERT_NE(index.OwnerOf("same@example.com"), nullptr);
        EXPECT_EQ(*index.OwnerOf("same@example.com"), req.owner) << "seed " << seed;
      }
    }
    EXPECT_EQ(winners, 1) << "seed " << seed;
    EXPECT_EQ(index.size(), 1u);
  }
}

TEST(UniqueIndexProtocolTest, FailedRowWritesReleaseAndNeverStealTheWinnersClaim) {
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    std::mt19937 rng(seed);
    std::bernoulli_distribution fails(0.5);
    UniqueIndexPartition<std::string> index;
    std::vector<CreateRequest> requests;
    for (int i = 0; i < 8; ++i) {
      requests.push_back({.owner = Numbered("u", i), .row_write_fails = fails(rng)});
    }
    requests = RunInterleaved(index, std::move(requests), "same@example.com", rng);
    int winners = 0;
    std::string winner;
    for (const CreateRequest& req : requests) {
      if (req.succeeded) {
        ++winners;
        winner = req.owner;
      }
    }
    EXPECT_LE(winners, 1) << "seed " << seed;
    const std::string* owner = index.OwnerOf("same@example.com");
    if (winners == 1) {
      ASSERT_NE(owner, nullptr) << "seed " << seed;
      EXPECT_EQ(*owner, winner) << "seed " << seed;
    } else {
      // Every claim was given back: the key is free again at once.
      EXPECT_EQ(owner, nullptr) << "seed " << seed;
    }
  }
}

TEST(UniqueIndexProtocolTest, UpdateToTheSameKeyMustNotReleaseIt) {
  // Step 1 of an update whose new key equals the old one reports kAlreadyOwned, which tells
  // the caller to skip both the success-path and the failure-path release.
  UniqueIndexPartition<std::string> index;
  ASSERT_TRUE(index.Claim("a@x", "u1").ok());
  Result<ClaimOutcome> r = index.Claim("a@x", "u1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, ClaimOutcome::kAlreadyOwned);
  EXPECT_EQ(*index.OwnerOf("a@x"), "u1");
}

TEST(UniqueIndexProtocolTest, KeyChangeAcrossPartitionsMovesTheClaim) {
  UniqueIndexPartition<std::string> parts[kPartitions];
  auto at = [&](std::string_view key) -> auto& { return parts[PartitionOf(key, kPartitions)]; };
  ASSERT_TRUE(at("old@x").Claim("old@x", "u1").ok());
  // 1. claim new, 2. (row write succeeds), 3a. release old.
  Result<ClaimOutcome> r = at("new@x").Claim("new@x", "u1");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(*r, ClaimOutcome::kNewlyClaimed);
  EXPECT_TRUE(at("old@x").Release("old@x", "u1"));
  EXPECT_EQ(at("old@x").OwnerOf("old@x"), nullptr);
  EXPECT_EQ(*at("new@x").OwnerOf("new@x"), "u1");
  // The old key is free for someone else at once.
  EXPECT_TRUE(at("old@x").Claim("old@x", "u2").ok());
}

}  // namespace
}  // namespace percore::storage
