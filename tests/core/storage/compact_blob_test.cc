#include "core/storage/compact_blob.h"

#include <gtest/gtest.h>

#include <string>
#include <type_traits>
#include <utility>

namespace percore::storage {
namespace {

static_assert(!std::is_copy_constructible_v<CompactBlob>);
static_assert(std::is_nothrow_move_constructible_v<CompactBlob>);

TEST(CompactBlobTest, DefaultBlobIsEmpty) {
  CompactBlob blob;
  EXPECT_TRUE(blob.empty());
  EXPECT_EQ(blob.size(), 0u);
  EXPECT_EQ(blob.view(), "");
}

TEST(CompactBlobTest, CopyOfEmptyBytesIsEmpty) { EXPECT_TRUE(CompactBlob::CopyOf("").empty()); }

TEST(CompactBlobTest, CopyOfKeepsBytesIncludingNuls) {
  const std::string bytes("a\0b\xff", 4);
  CompactBlob blob = CompactBlob::CopyOf(bytes);
  EXPECT_FALSE(blob.empty());
  EXPECT_EQ(blob.size(), 4u);
  EXPECT_EQ(blob.view(), bytes);
}

TEST(CompactBlobTest, MoveTransfersTheBytes) {
  CompactBlob a = CompactBlob::CopyOf("payload");
  CompactBlob b = std::move(a);
  EXPECT_EQ(b.view(), "payload");
  CompactBlob c;
  c = std::move(b);
  EXPECT_EQ(c.view(), "payload");
}

TEST(CompactBlobTest, CloneIsAnIndependentCopy) {
  CompactBlob a = CompactBlob::CopyOf("payload");
  CompactBlob b = a.Clone();
  EXPECT_EQ(a, b);
  EXPECT_NE(a.view().data(), b.view().data());
  a = CompactBlob::CopyOf("other");
  EXPECT_EQ(b.view(), "payload");
  EXPECT_FALSE(a == b);
}

TEST(CompactBlobTest, IsOnePointerWide) { EXPECT_EQ(sizeof(CompactBlob), sizeof(void*)); }

}  // namespace
}  // namespace percore::storage
