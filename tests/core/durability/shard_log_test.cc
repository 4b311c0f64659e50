// The per-shard log on a real runtime and real files: records come back in order after close and
// reopen, acknowledgements come only after the record is on file, and a full disk refuses new
// records, keeps the acknowledged ones waiting, and resumes by itself.
#include "core/durability/shard_log.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "core/durability/log_reader.h"
#include "core/runtime/runtime.h"
#include "tests/core/durability/temp_dir.h"
#include "tests/testing/run_on_shard.h"

namespace percore::durability {
namespace {

using percore::testing::RunOnShard;

struct Scanned {
  std::vector<std::pair<Lsn, std::string>> records;
  uint64_t valid_bytes = 0;
};

Scanned ScanAll(const std::string& path) {
  Scanned out;
  Result<LogScan> scan =
      ScanLogFile(path, kLogMagic, false, [&](Lsn lsn, uint32_t, std::string_view payload) {
        out.records.emplace_back(lsn, std::string(payload));
      });
  EXPECT_TRUE(scan.ok()) << scan.message();
  if (scan.ok()) out.valid_bytes = scan->valid_bytes;
  return out;
}

class ShardLogTest : public ::testing::Test {
 protected:
  void SetUp() override { runtime_.Start(); }
  void TearDown() override {
    RunOnShard(runtime_, 0, [&] {
      if (log_) log_->Close();
      log_.reset();
      return 0;
    });
    runtime_.Stop();
  }

  void Open(FsyncPolicy policy, uint64_t valid_bytes = 0, Lsn next = 0) {
    Result<LogFile> file = LogFile::Open(path_, {kLogMagic, 0, next}, valid_bytes);
    ASSERT_TRUE(file.ok()) << file.message();
    ShardLogOptions options;
    options.policy = policy;
    options.retry_interval = std::chrono::milliseconds(20);
    RunOnShard(runtime_, 0, [&] {
      log_ = ShardLog::Start(runtime_.shard(0), std::move(*file), next, options);
      return 0;
    });
  }
  void CloseLog() {
    RunOnShard(runtime_, 0, [&] {
      log_->Close();
      log_.reset();
      return 0;
    });
  }
  template <class Pred>
  bool WaitOnShard(Pred pred) {
    for (int i = 0; i < 500; ++i) {
      if (RunOnShard(runtime_, 0, pred)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  runtime::Runtime runtime_{{.shards = 1, .pin = false}};
  testing::TempDir dir_;
  std::string path_ = dir_.file("shard-0.log");
  std::shared_ptr<ShardLog> log_;
};

TEST_F(ShardLogTest, RecordsComeBackInOrderAfterCloseAndReopen) {
  Open(FsyncPolicy::kNo);
  int acknowledged = 0;
  for (int burst = 0; burst < 10; ++burst) {
    RunOnShard(runtime_, 0, [&] {
      for (int i = 0; i < 100; ++i) {
        Result<Lsn> lsn = log_->Append(1, "r" + std::to_string(burst * 100 + i));
        EXPECT_TRUE(lsn.ok());
        EXPECT_EQ(*lsn, static_cast<Lsn>(burst * 100 + i));
        log_->WhenDurable(*lsn, [&](const Status& s) { acknowledged += s.ok(); });
      }
      return 0;
    });
  }
  CloseLog();
  EXPECT_EQ(acknowledged, 1000);
  Scanned first = ScanAll(path_);
  ASSERT_EQ(first.records.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(first.records[i], std::make_pair(static_cast<Lsn>(i), "r" + std::to_string(i)));
  }
  // Reopen where the scan ended: LSNs go on.
  Open(FsyncPolicy::kEverySec, first.valid_bytes, 1000);
  RunOnShard(runtime_, 0, [&] {
    EXPECT_EQ(*log_->Append(1, "after"), 1000u);
    return 0;
  });
  CloseLog();
  Scanned second = ScanAll(path_);
  ASSERT_EQ(second.records.size(), 1001u);
  EXPECT_EQ(second.records.back(), std::make_pair(Lsn{1000}, std::string("after")));
}

// Under `always` and `everysec` alike, an acknowledgement means the record is in the file: a
// process killed right after it loses nothing.
TEST_F(ShardLogTest, AcknowledgedRecordIsAlreadyInTheFile) {
  for (FsyncPolicy policy : {FsyncPolicy::kAlways, FsyncPolicy::kEverySec}) {
    std::filesystem::remove(path_);
    Open(policy);
    std::atomic<int> checked{0};
    RunOnShard(runtime_, 0, [&] {
      for (int i = 0; i < 50; ++i) {
        Lsn lsn = *log_->Append(2, "x" + std::to_string(i));
        log_->WhenDurable(lsn, [&, lsn](const Status& s) {
          EXPECT_TRUE(s.ok());
          EXPECT_GT(log_->durable_lsn(), lsn);
          EXPECT_GT(ScanAll(path_).records.size(), lsn) << "acknowledged before written";
          ++checked;
        });
      }
      return 0;
    });
    EXPECT_TRUE(WaitOnShard([&] { return checked.load() == 50; }))
        << FsyncPolicyName(policy) << ": " << checked.load() << " of 50 acknowledged";
    CloseLog();
  }
}

// Disk full, simulated with RLIMIT_FSIZE (writes past the limit fail with EFBIG, as ENOSPC would).
TEST_F(ShardLogTest, FullDiskRefusesNewRecordsThenResumes) {
  ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  Open(FsyncPolicy::kAlways);
  struct rlimit tight = saved;
  tight.rlim_cur = kFileHeaderBytes + 200;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tight), 0);

  int acknowledged = 0;
  std::vector<Status> not_acknowledged;
  RunOnShard(runtime_, 0, [&] {
    for (int i = 0; i < 20; ++i) {
      Lsn lsn = *log_->Append(1, std::string(40, 'a' + i));
      log_->WhenDurable(lsn, [&](const Status& s) {
        if (s.ok()) {
          ++acknowledged;
        } else {
          not_acknowledged.push_back(s);
        }
      });
    }
    return 0;
  });
  ASSERT_TRUE(WaitOnShard([&] { return log_->failing(); })) << "the write never failed";
  RunOnShard(runtime_, 0, [&] {
    Result<Lsn> refused = log_->Append(1, "refused");
    EXPECT_EQ(refused.code(), StatusCode::kUnavailable);
    EXPECT_NE(refused.message().find(path_), std::string::npos) << refused.message();
    EXPECT_EQ(acknowledged, 0) << "acknowledged records that are not in the file";
    // The waiting writes are answered as the failure is known, not when the disk has room.
    EXPECT_EQ(not_acknowledged.size(), 20u);
    for (const Status& s : not_acknowledged) {
      EXPECT_EQ(s.code(), StatusCode::kUnavailable);
      EXPECT_NE(s.message().find(path_), std::string::npos) << s.message();
      EXPECT_NE(s.message().find("not acknowledged"), std::string::npos) << s.message();
    }
    // A record appended before the failure was known, waited for now: answered at once too.
    std::optional<Status> late;
    log_->WhenDurable(log_->next_lsn() - 1, [&](const Status& s) { late = s; });
    EXPECT_TRUE(late.has_value() && late->code() == StatusCode::kUnavailable);
    return 0;
  });

  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);  // space returns
  EXPECT_TRUE(WaitOnShard([&] { return log_->durable_lsn() == 20 && !log_->failing(); }));
  RunOnShard(runtime_, 0, [&] {
    EXPECT_EQ(acknowledged, 0) << "a write answered UNAVAILABLE was acknowledged later";
    EXPECT_TRUE(log_->Append(1, "resumed").ok());
    return 0;
  });
  CloseLog();
  Scanned scanned = ScanAll(path_);
  ASSERT_EQ(scanned.records.size(), 21u);
  EXPECT_EQ(scanned.records[19].second, std::string(40, 'a' + 19));
  EXPECT_EQ(scanned.records[20], std::make_pair(Lsn{20}, std::string("resumed")));
}

TEST_F(ShardLogTest, CloseWhileFailingTellsWaitersUnavailable) {
  ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  Open(FsyncPolicy::kAlways);
  struct rlimit tight = saved;
  tight.rlim_cur = kFileHeaderBytes + 10;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tight), 0);
  std::optional<Status> outcome;
  RunOnShard(runtime_, 0, [&] {
    Lsn lsn = *log_->Append(1, std::string(100, 'z'));
    log_->WhenDurable(lsn, [&](const Status& s) { outcome = s; });
    return 0;
  });
  ASSERT_TRUE(WaitOnShard([&] { return log_->failing(); }));
  CloseLog();
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->code(), StatusCode::kUnavailable);
  EXPECT_TRUE(ScanAll(path_).records.empty());
}

}  // namespace
}  // namespace percore::durability
