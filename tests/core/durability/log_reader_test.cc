// Recovery's scan: intact records in order with their LSNs; a torn tail ends the scan quietly;
// damage in the middle refuses (DATA_LOSS with the offset) unless told to skip it.
#include "core/durability/log_reader.h"

#include <gtest/gtest.h>

#include <vector>

namespace percore::durability {
namespace {

struct Seen {
  Lsn lsn;
  uint32_t type;
  std::string payload;
};

std::string MakeLog(int records, Lsn first_lsn, std::vector<size_t>* offsets = nullptr) {
  std::string bytes;
  AppendFileHeader({kLogMagic, 0, first_lsn}, bytes);
  for (int i = 0; i < records; ++i) {
    if (offsets) offsets->push_back(bytes.size());
    AppendRecord(static_cast<uint32_t>(i % 5), "record-" + std::to_string(i), bytes);
  }
  return bytes;
}

Result<LogScan> Scan(std::string_view bytes, std::vector<Seen>& seen, bool skip = false) {
  return ScanLogBytes(bytes, "test.log", kLogMagic, skip,
                      [&](Lsn lsn, uint32_t type, std::string_view payload) {
                        seen.push_back({lsn, type, std::string(payload)});
                      });
}

TEST(LogReader, ReadsEveryRecordWithItsLsn) {
  std::string bytes = MakeLog(100, 1000);
  std::vector<Seen> seen;
  Result<LogScan> scan = Scan(bytes, seen);
  ASSERT_TRUE(scan.ok()) << scan.message();
  ASSERT_EQ(seen.size(), 100u);
  EXPECT_EQ(scan->records, 100u);
  EXPECT_EQ(scan->valid_bytes, bytes.size());
  EXPECT_EQ(scan->torn_bytes, 0u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(seen[i].lsn, 1000u + i);
    EXPECT_EQ(seen[i].type, static_cast<uint32_t>(i % 5));
    EXPECT_EQ(seen[i].payload, "record-" + std::to_string(i));
  }
}

TEST(LogReader, ShortOrEmptyFileIsAnEmptyLog) {
  std::vector<Seen> seen;
  std::string bytes = MakeLog(0, 0);
  Result<LogScan> scan = Scan(bytes.substr(0, 10), seen);
  ASSERT_TRUE(scan.ok());
  EXPECT_FALSE(scan->has_header);
  EXPECT_EQ(scan->torn_bytes, 10u);
  EXPECT_TRUE(seen.empty());
}

TEST(LogReader, TornTailEndsTheScanAtTheLastIntactRecord) {
  std::vector<size_t> offsets;
  const std::string log = MakeLog(10, 0, &offsets);
  const size_t last = offsets.back();
  for (size_t cut : {last + 3, last + kRecordHeaderBytes + 2, log.size() - 1}) {
    std::vector<Seen> seen;
    Result<LogScan> scan = Scan(std::string_view(log).substr(0, cut), seen);
    ASSERT_TRUE(scan.ok()) << "cut at " << cut << ": " << scan.message();
    EXPECT_EQ(seen.size(), 9u) << "cut at " << cut;
    EXPECT_EQ(scan->valid_bytes, last);
    EXPECT_EQ(scan->torn_bytes, cut - last);
  }
}

TEST(LogReader, ZerosAfterTheLastRecordAreATornTail) {
  std::string bytes = MakeLog(5, 0) + std::string(4096, '\0');
  std::vector<Seen> seen;
  Result<LogScan> scan = Scan(bytes, seen);
  ASSERT_TRUE(scan.ok()) << scan.message();
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(scan->torn_bytes, 4096u);
}

TEST(LogReader, DamagedLastRecordIsATornTail) {
  std::vector<size_t> offsets;
  std::string bytes = MakeLog(5, 0, &offsets);
  bytes[offsets.back() + kRecordHeaderBytes + 1] ^= 0x10;
  std::vector<Seen> seen;
  Result<LogScan> scan = Scan(bytes, seen);
  ASSERT_TRUE(scan.ok()) << scan.message();
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_EQ(scan->valid_bytes, offsets.back());
}

TEST(LogReader, DamageInTheMiddleRefusesNamingTheOffset) {
  std::vector<size_t> offsets;
  std::string bytes = MakeLog(10, 0, &offsets);
  bytes[offsets[4] + kRecordHeaderBytes + 1] ^= 0x10;
  std::vector<Seen> seen;
  Result<LogScan> scan = Scan(bytes, seen);
  EXPECT_EQ(scan.code(), StatusCode::kDataLoss);
  EXPECT_NE(scan.message().find("test.log: damaged record at offset " + std::to_string(offsets[4])),
            std::string::npos)
      << scan.message();
}

TEST(LogReader, DamagedLengthInTheMiddleIsCorruptionNotATornTail) {
  std::vector<size_t> offsets;
  std::string bytes = MakeLog(10, 0, &offsets);
  bytes[offsets[2] + 1] = 0x7f;  // a length far past the end of the file
  std::vector<Seen> seen;
  EXPECT_EQ(Scan(bytes, seen).code(), StatusCode::kDataLoss);
}

TEST(LogReader, SkipCorruptSkipsTheDamagedRecordAndGoesOn) {
  std::vector<size_t> offsets;
  std::string bytes = MakeLog(10, 0, &offsets);
  bytes[offsets[4] + kRecordHeaderBytes + 1] ^= 0x10;
  bytes[offsets[6] + 2] = 0x55;  // a damaged length, resynchronised by searching forward
  std::vector<Seen> seen;
  Result<LogScan> scan = Scan(bytes, seen, /*skip=*/true);
  ASSERT_TRUE(scan.ok()) << scan.message();
  EXPECT_EQ(scan->skipped, (std::vector<uint64_t>{offsets[4], offsets[6]}));
  ASSERT_EQ(seen.size(), 8u);
  EXPECT_EQ(seen[3].payload, "record-3");
  EXPECT_EQ(seen[4].payload, "record-5");
  EXPECT_EQ(seen[5].payload, "record-7");
}

TEST(LogReader, ForeignFileIsRefused) {
  std::string bytes(64, 'x');
  std::vector<Seen> seen;
  EXPECT_EQ(Scan(bytes, seen).code(), StatusCode::kDataLoss);
}

TEST(LogReader, MissingFileIsNotFound) {
  EXPECT_EQ(ScanLogFile("/nonexistent/percore.log", kLogMagic, false,
                        [](Lsn, uint32_t, std::string_view) {})
                .code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace percore::durability
