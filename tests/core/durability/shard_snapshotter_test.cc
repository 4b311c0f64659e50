// Snapshots while serving, on a real runtime and real files: the cut starts a new log segment,
// the rows are serialized in many chunks with writes running between them, and the snapshot plus
// the segments from its cut replay to exactly the live state; the segments before the cut are
// deleted once the snapshot is in place; a snapshot cut short (a crash, a full disk) leaves the
// previous one valid and the log whole.
#include "core/durability/shard_snapshotter.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "core/durability/generation_dir.h"
#include "core/durability/log_reader.h"
#include "core/durability/store_journal.h"
#include "core/runtime/runtime.h"
#include "tests/core/durability/temp_dir.h"
#include "tests/testing/run_on_shard.h"

namespace percore::durability {
namespace {

using percore::testing::RunOnShard;
namespace fs = std::filesystem;

constexpr uint32_t kPut = 1;     // u32 key, then the value
constexpr uint32_t kDelete = 2;  // u32 key

std::string KeyBytes(uint32_t key) { return std::string(reinterpret_cast<char*>(&key), 4); }

// A toy store: rows by key, each change logged as the row's whole state.
class ToyStore final : public SnapshotSource {
 public:
  void Restart() override {
    cursor_.reset();
    ++passes_;
  }
  bool Next(std::string& out, uint64_t& records, size_t budget) override {
    ++chunks_;
    if (writes_since_chunk_ > 0) ++chunks_after_writes_;
    writes_since_chunk_ = 0;
    auto it = cursor_ ? rows_.upper_bound(*cursor_) : rows_.begin();
    // A small budget of our own as well, so a pass takes many chunks.
    for (size_t n = 0; it != rows_.end() && n < 16 && out.size() < budget; ++it, ++n) {
      AppendRecord(kPut, KeyBytes(it->first) + it->second, out);
      ++records;
      cursor_ = it->first;
    }
    return it != rows_.end();
  }

  void Put(ShardLog& log, uint32_t key, std::string value) {
    ASSERT_TRUE(log.Append(kPut, KeyBytes(key) + value).ok());
    rows_[key] = std::move(value);
    ++writes_since_chunk_;
  }
  void Delete(ShardLog& log, uint32_t key) {
    ASSERT_TRUE(log.Append(kDelete, KeyBytes(key)).ok());
    rows_.erase(key);
    ++writes_since_chunk_;
  }

  std::map<uint32_t, std::string> rows_;
  int chunks_ = 0;
  int chunks_after_writes_ = 0;  // chunks that ran after writes made since the previous one
  int passes_ = 0;

 private:
  std::optional<uint32_t> cursor_;
  int writes_since_chunk_ = 0;
};

// What recovery makes of the shard's files (`dir` is a generation directory).
std::map<uint32_t, std::string> Replay(const std::string& dir, uint64_t* records = nullptr) {
  Result<GenerationDir> gen = GenerationDir::Open(fs::path(dir).parent_path().string());
  EXPECT_TRUE(gen.ok());
  std::vector<GenerationDir::ShardFiles> files = gen->FilesOf(0);
  EXPECT_EQ(files.size(), 1u);
  std::map<uint32_t, std::string> rows;
  std::string report;
  Result<uint64_t> replayed = ReplayShardFiles(
      files.at(0), false,
      [&](uint32_t type, std::string_view payload) {
        uint32_t key = 0;
        std::memcpy(&key, payload.data(), 4);
        if (type == kPut) {
          rows[key] = std::string(payload.substr(4));
        } else {
          rows.erase(key);
        }
        return Status();
      },
      &report);
  EXPECT_TRUE(replayed.ok()) << replayed.message();
  if (records && replayed.ok()) *records = *replayed;
  return rows;
}

Lsn SnapshotCut(const std::string& path) {
  Result<LogScan> scan = ScanLogFile(path, kSnapshotMagic, false, [](Lsn, uint32_t, auto) {});
  EXPECT_TRUE(scan.ok()) << scan.message();
  return scan.ok() ? scan->header.first_lsn : 0;
}

class ShardSnapshotterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(gen_);
    runtime_.Start();
    Result<LogFile> file = LogFile::Open(gen_ + "/shard-0.log", {kLogMagic, 0, 0}, 0);
    ASSERT_TRUE(file.ok()) << file.message();
    RunOnShard(runtime_, 0, [&] {
      log_ = ShardLog::Start(
          runtime_.shard(0), std::move(*file), 0,
          {.policy = FsyncPolicy::kAlways, .retry_interval = std::chrono::milliseconds(20)});
      snapshotter_ = ShardSnapshotter::Start(runtime_.shard(0), log_, &store_, {});
      return 0;
    });
  }
  void TearDown() override {
    Close();
    runtime_.Stop();
  }
  void Close() {
    RunOnShard(runtime_, 0, [&] {
      snapshotter_.reset();
      if (log_) log_->Close();
      log_.reset();
      return 0;
    });
  }
  void Write(int count, uint32_t key_space, std::mt19937& rng) {
    RunOnShard(runtime_, 0, [&] {
      for (int i = 0; i < count; ++i) {
        uint32_t key = rng() % key_space;
        if (rng() % 5 == 0) {
          store_.Delete(*log_, key);
        } else {
          store_.Put(*log_, key, "v" + std::to_string(rng()) + std::string(rng() % 64, 'x'));
        }
      }
      return 0;
    });
  }
  // Starts a snapshot with a chain of `write_tasks` tasks of writes behind it (each queues the
  // next), so writes run between its chunks. Waits for it to end.
  Status SnapshotWhileWriting(int write_tasks, std::mt19937& rng) {
    std::promise<Status> done;
    auto finished = done.get_future();
    RunOnShard(runtime_, 0, [&] {
      chain_left_ = write_tasks;
      return 0;
    });
    chain_ = [this, &rng] {
      if (chain_left_-- <= 0 || !log_) return;
      for (int i = 0; i < 5; ++i) {
        uint32_t key = rng() % 3000;
        if (rng() % 4 == 0) {
          store_.Delete(*log_, key);
        } else {
          store_.Put(*log_, key, "during" + std::to_string(rng()));
        }
      }
      runtime_.shard(0).Submit([this] { chain_(); });
    };
    RunOnShard(runtime_, 0, [&] {
      Status started = snapshotter_->SnapshotNow([&](const Status& s) { done.set_value(s); });
      if (!started.ok()) done.set_value(started);
      runtime_.shard(0).Submit([this] { chain_(); });
      return 0;
    });
    Status status = finished.get();
    // The chain may still run: let it end (its last task finds nothing left) before `rng` goes.
    while (RunOnShard(runtime_, 0, [&] { return chain_left_ >= 0; })) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return status;
  }
  std::vector<std::string> Segments() {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(gen_)) {
      std::string name = entry.path().filename().string();
      if (name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }
  std::map<uint32_t, std::string> Live() {
    return RunOnShard(runtime_, 0, [&] { return store_.rows_; });
  }

  runtime::Runtime runtime_{{.shards = 1, .pin = false}};
  testing::TempDir dir_;
  std::string gen_ = dir_.file("gen-00000000");
  ToyStore store_;
  std::function<void()> chain_;
  int chain_left_ = 0;  // shard thread
  std::shared_ptr<ShardLog> log_;
  std::shared_ptr<ShardSnapshotter> snapshotter_;
};

TEST_F(ShardSnapshotterTest, SnapshotAndLogAfterItsCutReplayToTheLiveState) {
  std::mt19937 rng(7);
  Write(4000, 3000, rng);
  const Lsn cut = RunOnShard(runtime_, 0, [&] { return log_->next_lsn(); });
  ASSERT_TRUE(SnapshotWhileWriting(300, rng).ok());
  // Many chunks, with writes between them: the shard served while the snapshot ran.
  EXPECT_GT(store_.chunks_, 20);
  EXPECT_GT(store_.chunks_after_writes_, 10);
  // The cut started a new segment; the one before it is gone; the snapshot names the cut.
  EXPECT_EQ(Segments(), std::vector<std::string>{"shard-0." + std::to_string(cut) + ".log"});
  EXPECT_EQ(SnapshotCut(gen_ + "/shard-0.snap"), cut);
  EXPECT_FALSE(fs::exists(gen_ + "/shard-0.snap.tmp"));
  Write(500, 3000, rng);
  const auto live = Live();
  Close();
  EXPECT_EQ(Replay(gen_), live);
}

TEST_F(ShardSnapshotterTest, RepeatedSnapshotsKeepTheLogBounded) {
  std::mt19937 rng(11);
  uint64_t last_bytes = 0;
  for (int round = 0; round < 8; ++round) {
    Write(1000, 500, rng);
    ASSERT_TRUE(SnapshotWhileWriting(50, rng).ok()) << round;
    EXPECT_EQ(Segments().size(), 1u) << "round " << round;
    last_bytes = RunOnShard(runtime_, 0, [&] { return log_->stats().last_snapshot_bytes; });
  }
  LogStats stats = RunOnShard(runtime_, 0, [&] { return log_->stats(); });
  EXPECT_EQ(stats.snapshots, 8u);
  EXPECT_GT(stats.fsyncs, 0u);
  EXPECT_GT(stats.bytes_logged, 8 * last_bytes / 2) << "the log was written more than it is kept";
  EXPECT_GT(stats.last_snapshot_unix_nanos, 0);
  uint64_t on_disk = 0;
  for (const auto& name : Segments()) on_disk += fs::file_size(gen_ + "/" + name);
  EXPECT_LT(on_disk, stats.bytes_logged / 4);
  const auto live = Live();
  Close();
  EXPECT_EQ(Replay(gen_), live);
}

// A store whose chunks are slow (each busy for `chunk_work` of the shard's time): the snapshot
// takes no more than its share of the shard after its first burst, so it lasts at least the work
// divided by the share. Without the pace it ran its chunks back to back and ended after about
// the work itself.
class SlowStore final : public SnapshotSource {
 public:
  void Restart() override { left_ = 40; }
  bool Next(std::string& out, uint64_t& records, size_t) override {
    const auto begin = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - begin < kChunkWork) {
    }
    AppendRecord(kPut, KeyBytes(left_) + "v", out);
    ++records;
    return --left_ > 0;
  }
  static constexpr std::chrono::microseconds kChunkWork{500};

 private:
  uint32_t left_ = 0;
};

TEST_F(ShardSnapshotterTest, ChunksTakeOnlyTheirShareOfTheShard) {
  SlowStore slow;
  std::shared_ptr<ShardSnapshotter> paced;
  std::promise<Status> done;
  auto finished = done.get_future();
  std::chrono::steady_clock::time_point started;
  RunOnShard(runtime_, 0, [&] {
    store_.Put(*log_, 1, "a");  // something logged since the cut, or no snapshot
    paced = ShardSnapshotter::Start(runtime_.shard(0), log_, &slow, {});
    started = std::chrono::steady_clock::now();
    Status status = paced->SnapshotNow([&](const Status& s) { done.set_value(s); });
    if (!status.ok()) done.set_value(status);
    return 0;
  });
  ASSERT_TRUE(finished.get().ok());
  const auto lasted = std::chrono::steady_clock::now() - started;
  // 40 chunks of 0.5 ms: 20 ms of work. Every chunk but the last starts within the share.
  const auto work = 39 * SlowStore::kChunkWork;
  const auto floor = std::chrono::duration_cast<std::chrono::nanoseconds>(
      (work - ShardSnapshotter::kBurst) / ShardSnapshotter::kShareOfShard);
  EXPECT_GE(lasted, floor) << "the snapshot took more than its share of the shard";
  RunOnShard(runtime_, 0, [&] {
    paced.reset();
    return 0;
  });
}

TEST_F(ShardSnapshotterTest, NothingLoggedSinceTheCutIsNoSnapshot) {
  Status first = RunOnShard(runtime_, 0, [&] { return snapshotter_->SnapshotNow(); });
  EXPECT_EQ(first.code(), StatusCode::kFailedPrecondition);
}

// A crash mid-snapshot: the log was cut and some chunks written, the rename never came. The
// previous snapshot and every segment since its cut are still there and replay to the state.
TEST_F(ShardSnapshotterTest, SnapshotCutShortLeavesThePreviousOneValid) {
  std::mt19937 rng(3);
  Write(2000, 1000, rng);
  ASSERT_TRUE(SnapshotWhileWriting(20, rng).ok());
  const Lsn first_cut = SnapshotCut(gen_ + "/shard-0.snap");
  Write(1000, 1000, rng);
  // In one task: the cut, two chunks, more writes, and the log closes before the finish (as a
  // kill -9 would leave it, minus the temporary file, which is put back below).
  std::map<uint32_t, std::string> live;
  RunOnShard(runtime_, 0, [&] {
    EXPECT_TRUE(snapshotter_->SnapshotNow().ok());
    for (int chunk = 0; chunk < 2; ++chunk) {
      std::string out;
      uint64_t records = 0;
      store_.Next(out, records, 4096);
      log_->SnapshotChunk(std::move(out), records);
    }
    for (int i = 0; i < 300; ++i) store_.Put(*log_, rng() % 1000, "after the cut");
    live = store_.rows_;
    snapshotter_.reset();
    log_->Close();
    log_.reset();
    return 0;
  });
  std::ofstream(gen_ + "/shard-0.snap.tmp") << "half a snapshot";
  EXPECT_EQ(SnapshotCut(gen_ + "/shard-0.snap"), first_cut);
  EXPECT_EQ(Segments().size(), 2u);
  EXPECT_EQ(Replay(gen_), live);
}

// A crash between the rename and the deletes: the old segments are still there, and replay
// skips them (their records are in the snapshot).
TEST_F(ShardSnapshotterTest, SegmentsBeforeTheCutAreSkipped) {
  std::mt19937 rng(5);
  Write(1000, 200, rng);
  // A copy of the whole first segment, put back after the snapshot deleted it.
  while (RunOnShard(runtime_, 0, [&] { return log_->durable_lsn() < log_->next_lsn(); })) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  fs::copy_file(gen_ + "/shard-0.log", dir_.file("old.log"));
  ASSERT_TRUE(SnapshotWhileWriting(0, rng).ok());
  const size_t snapshot_rows = Live().size();
  Write(10, 200, rng);
  const auto live = Live();
  Close();
  fs::copy_file(dir_.file("old.log"), gen_ + "/shard-0.log");
  uint64_t records = 0;
  EXPECT_EQ(Replay(gen_, &records), live);
  EXPECT_EQ(records, snapshot_rows + 10) << "the old segment was replayed";
}

// A full disk while the snapshot is written (RLIMIT_FSIZE: writes past the limit fail with
// EFBIG, like ENOSPC): the snapshot fails, its temporary file is removed, the previous snapshot
// and the log stay, and the next snapshot succeeds once there is room.
TEST_F(ShardSnapshotterTest, FullDiskFailsTheSnapshotNotTheLog) {
  std::mt19937 rng(9);
  Write(4000, 3000, rng);  // a snapshot of well over 64 KiB
  ASSERT_TRUE(SnapshotWhileWriting(0, rng).ok());
  const Lsn first_cut = SnapshotCut(gen_ + "/shard-0.snap");
  Write(50, 3000, rng);  // a log segment well under it
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old {};
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &old), 0);
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  struct rlimit small = saved;
  small.rlim_cur = 64 << 10;  // the log's segments stay under it; the snapshot does not fit
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  Status failed = SnapshotWhileWriting(0, rng);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
  ::sigaction(SIGXFSZ, &old, nullptr);
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("shard-0.snap"), std::string::npos) << failed.message();
  EXPECT_FALSE(fs::exists(gen_ + "/shard-0.snap.tmp"));
  EXPECT_EQ(SnapshotCut(gen_ + "/shard-0.snap"), first_cut);
  EXPECT_EQ(RunOnShard(runtime_, 0, [&] { return log_->stats().snapshot_failures; }), 1u);
  Write(100, 3000, rng);
  ASSERT_TRUE(SnapshotWhileWriting(0, rng).ok());
  EXPECT_EQ(Segments().size(), 1u);
  const auto live = Live();
  Close();
  EXPECT_EQ(Replay(gen_), live);
}

TEST(SnapshotPolicyTest, ParsesSizesAndTimes) {
  EXPECT_EQ(ParseSnapshotEvery("64MiB")->every_bytes, uint64_t{64} << 20);
  EXPECT_EQ(ParseSnapshotEvery("512KiB")->every_bytes, uint64_t{512} << 10);
  EXPECT_EQ(ParseSnapshotEvery("4096")->every_bytes, 4096u);
  EXPECT_EQ(ParseSnapshotEvery("30s")->every, std::chrono::seconds(30));
  EXPECT_EQ(ParseSnapshotEvery("500ms")->every, std::chrono::milliseconds(500));
  EXPECT_FALSE(ParseSnapshotEvery("0")->enabled());
  for (const char* bad : {"", "MiB", "64MB", "-1", "1.5s", "30 s", "99999999999999s"}) {
    Result<SnapshotPolicy> parsed = ParseSnapshotEvery(bad);
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << bad;
    if (!parsed.ok()) {
      EXPECT_NE(parsed.message().find("--snapshot-every"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace percore::durability
