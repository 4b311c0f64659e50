// Snapshot files appear only complete: an abandoned snapshot leaves the previous one as it was.
#include "core/durability/snapshot_file.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/durability/data_dir_lock.h"
#include "core/durability/log_reader.h"
#include "tests/core/durability/temp_dir.h"

namespace percore::durability {
namespace {

std::vector<std::string> ReadSnapshot(const std::string& path, Lsn* cut = nullptr) {
  std::vector<std::string> payloads;
  Result<LogScan> scan =
      ScanLogFile(path, kSnapshotMagic, false,
                  [&](Lsn, uint32_t, std::string_view payload) { payloads.emplace_back(payload); });
  EXPECT_TRUE(scan.ok()) << scan.message();
  if (scan.ok() && cut) *cut = scan->header.first_lsn;
  return payloads;
}

TEST(SnapshotFile, FinishedSnapshotHoldsEveryRecordAndTheCut) {
  testing::TempDir dir;
  Result<SnapshotWriter> writer = SnapshotWriter::Create(dir.path(), "shard-0.snap", {{}, 0, 77});
  ASSERT_TRUE(writer.ok()) << writer.message();
  // Enough to need several chunks.
  for (int i = 0; i < 30000; ++i) {
    ASSERT_TRUE(writer->Add(1, std::string(50, 'a' + i % 26)).ok());
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("shard-0.snap"))) << "visible before Finish";
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_FALSE(std::filesystem::exists(dir.file("shard-0.snap.tmp")));
  Lsn cut = 0;
  std::vector<std::string> payloads = ReadSnapshot(dir.file("shard-0.snap"), &cut);
  EXPECT_EQ(cut, 77u);
  ASSERT_EQ(payloads.size(), 30000u);
  EXPECT_EQ(payloads[29999], std::string(50, 'a' + 29999 % 26));
}

TEST(SnapshotFile, AbandonedSnapshotLeavesThePreviousOne) {
  testing::TempDir dir;
  {
    Result<SnapshotWriter> first = SnapshotWriter::Create(dir.path(), "s.snap", {});
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE(first->Add(1, "old").ok());
    ASSERT_TRUE(first->Finish().ok());
  }
  {
    Result<SnapshotWriter> second = SnapshotWriter::Create(dir.path(), "s.snap", {});
    ASSERT_TRUE(second.ok());
    for (int i = 0; i < 50000; ++i) ASSERT_TRUE(second->Add(1, "new-new-new-new").ok());
    // Destroyed without Finish, as when the server stops mid-snapshot.
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("s.snap.tmp")));
  EXPECT_EQ(ReadSnapshot(dir.file("s.snap")), std::vector<std::string>{"old"});
}

TEST(DataDirLock, SecondHolderIsRefusedNamingThePid) {
  testing::TempDir dir;
  const std::string data = dir.file("data/127.0.0.1_50051");  // parents made too (tools/run)
  Result<DataDirLock> first = DataDirLock::Acquire(data);
  ASSERT_TRUE(first.ok()) << first.message();
  Result<DataDirLock> second = DataDirLock::Acquire(data);
  EXPECT_EQ(second.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.message().find("in use by another percore-server (pid " +
                                  std::to_string(::getpid()) + ")"),
            std::string::npos)
      << second.message();
  { DataDirLock released = std::move(*first); }
  EXPECT_TRUE(DataDirLock::Acquire(data).ok()) << "free again once the holder is gone";
}

}  // namespace
}  // namespace percore::durability
