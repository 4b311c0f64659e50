#include "core/storage/partition_of.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/core/storage/numbered_key.h"

namespace percore::storage {
namespace {

// Computed at compile time: the function is usable wherever a routing table is built.
static_assert(PartitionOf("any key", 1) == 0);
// The compile-time and run-time evaluations agree (the value is pinned again below).
static_assert(StableHash64("a") == 0xdf2b89d6472446caULL);

TEST(PartitionOfTest, HashValuesArePinnedAcrossBuilds) {
  // If these change, every key moves to another shard: a deliberate, announced change only.
  EXPECT_EQ(StableHash64(""), 0x9ca066f1a4ab2eeaULL);
  EXPECT_EQ(StableHash64("a"), 0xdf2b89d6472446caULL);
  EXPECT_EQ(StableHash64("alice@example.com"), 0xc9e794a327ce12e9ULL);
  EXPECT_EQ(StableHash64("0190a3e4-5b6c-7d8e-9f00-112233445566"), 0x1d0dd2f60718885aULL);
  EXPECT_EQ(PartitionOf("0190a3e4-5b6c-7d8e-9f00-112233445566", 4), 0x1d0dd2f60718885aULL % 4);
}

TEST(PartitionOfTest, SameKeyAlwaysMapsToSamePartition) {
  for (int i = 0; i < 1000; ++i) {
    const std::string key = Numbered("user-", i);
    EXPECT_EQ(PartitionOf(key, 8), PartitionOf(std::string(key), 8));
  }
}

TEST(PartitionOfTest, ResultIsBelowPartitionCount) {
  for (size_t n : {1u, 2u, 3u, 4u, 7u, 64u, 1000u}) {
    for (int i = 0; i < 2000; ++i) {
      EXPECT_LT(PartitionOf(Numbered("k", i), n), n);
    }
  }
}

TEST(PartitionOfTest, SinglePartitionOwnsEverything) {
  EXPECT_EQ(PartitionOf("", 1), 0u);
  EXPECT_EQ(PartitionOf("whatever", 1), 0u);
}

TEST(PartitionOfTest, EmptyKeyIsAValidKey) { EXPECT_LT(PartitionOf("", 4), 4u); }

TEST(PartitionOfTest, EveryByteAndTheLengthMatter) {
  const std::string base = "0190a3e4-5b6c-7d8e-9f00-112233445566";
  for (size_t i = 0; i < base.size(); ++i) {
    std::string changed = base;
    changed[i] ^= 1;
    EXPECT_NE(StableHash64(changed), StableHash64(base)) << i;
  }
  EXPECT_NE(StableHash64(std::string("ab\0", 3)), StableHash64("ab"));
  EXPECT_NE(StableHash64(std::string(9, '\0')), StableHash64(std::string(8, '\0')));
}

TEST(PartitionOfTest, SequentialKeysSpreadEvenly) {
  // Sequential ids (the worst case for a weak hash) must land within 3% of an even split.
  constexpr int kKeys = 200000;
  for (size_t n : {4u, 7u, 16u}) {
    std::vector<int> counts(n, 0);
    for (int i = 0; i < kKeys; ++i) ++counts[PartitionOf(Numbered("user-", i), n)];
    const double expected = static_cast<double>(kKeys) / n;
    for (size_t p = 0; p < n; ++p) {
      EXPECT_NEAR(counts[p], expected, expected * 0.03) << "n=" << n << " p=" << p;
    }
  }
}

TEST(PartitionOfTest, ChangingOneBitFlipsAboutHalfTheHashBits) {
  // Avalanche: the low bits that `% n` uses depend on every input bit.
  uint64_t total_flipped = 0;
  int samples = 0;
  for (int i = 0; i < 500; ++i) {
    const std::string key = Numbered("key-", i) + "-padding";
    for (size_t byte = 0; byte < key.size(); ++byte) {
      std::string changed = key;
      changed[byte] ^= 0x04;
      total_flipped += __builtin_popcountll(StableHash64(key) ^ StableHash64(changed));
      ++samples;
    }
  }
  const double mean = static_cast<double>(total_flipped) / samples;
  EXPECT_NEAR(mean, 32.0, 1.0);
}

}  // namespace
}  // namespace percore::storage
