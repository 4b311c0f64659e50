// The record framing: what is written parses back, and every kind of damage is told apart.
#include "core/durability/log_format.h"

#include <gtest/gtest.h>

namespace percore::durability {
namespace {

TEST(LogFormat, HeaderRoundTrips) {
  std::string bytes;
  AppendFileHeader({kLogMagic, 3, 42}, bytes);
  ASSERT_EQ(bytes.size(), kFileHeaderBytes);
  FileHeader header;
  ASSERT_TRUE(ParseFileHeader(bytes, kLogMagic, header));
  EXPECT_EQ(header.shard, 3u);
  EXPECT_EQ(header.first_lsn, 42u);
  EXPECT_FALSE(ParseFileHeader(bytes, kSnapshotMagic, header)) << "another file kind";
  bytes[17] ^= 1;
  EXPECT_FALSE(ParseFileHeader(bytes, kLogMagic, header)) << "a damaged header";
}

TEST(LogFormat, RecordRoundTrips) {
  std::string bytes;
  AppendRecord(7, "hello", bytes);
  AppendRecord(8, "", bytes);
  RecordView record;
  ASSERT_EQ(ParseRecord(bytes, record), FrameResult::kOk);
  EXPECT_EQ(record.type, 7u);
  EXPECT_EQ(record.payload, "hello");
  ASSERT_EQ(ParseRecord(std::string_view(bytes).substr(kRecordHeaderBytes + 5), record),
            FrameResult::kOk);
  EXPECT_EQ(record.type, 8u);
  EXPECT_EQ(record.payload, "");
}

TEST(LogFormat, TellsTruncationFromDamage) {
  std::string bytes;
  AppendRecord(1, "payload", bytes);
  RecordView record;
  EXPECT_EQ(ParseRecord(std::string_view(bytes).substr(0, 10), record), FrameResult::kTruncated);
  EXPECT_EQ(ParseRecord(std::string_view(bytes).substr(0, bytes.size() - 1), record),
            FrameResult::kTruncated);
  std::string flipped = bytes;
  flipped[kRecordHeaderBytes + 2] ^= 0x40;
  EXPECT_EQ(ParseRecord(flipped, record), FrameResult::kDamaged) << "payload bit flipped";
  std::string retyped = bytes;
  retyped[4] ^= 1;
  EXPECT_EQ(ParseRecord(retyped, record), FrameResult::kDamaged) << "type is covered too";
  std::string huge = bytes;
  huge[3] = 0x7f;  // length > kMaxRecordBytes
  EXPECT_EQ(ParseRecord(huge, record), FrameResult::kDamaged);
}

}  // namespace
}  // namespace percore::durability
