// What durability costs a shard, and how fast it recovers (issue 10's figures):
//   BM_ScanLog:      recovery's scan of an in-memory log of 150-byte records (a stored user's
//                    size): records per second a restart replays (target: >= 1 million/s).
//   BM_AppendRecord: framing one record into the shard's batch (the request path's share).
//   BM_ShardLogBurst/<policy>: a shard appending bursts of 64 records through a real ShardLog
//                    on a real runtime and file, waiting for each burst's acknowledgement:
//                    records per second under `no`, `everysec` and `always` (group commit: one
//                    fsync per burst). The file lives in $TMPDIR (default /tmp): say which disk.

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <future>
#include <string>

#include "core/durability/log_format.h"
#include "core/durability/log_reader.h"
#include "core/durability/shard_log.h"
#include "core/runtime/runtime.h"

namespace percore::durability {
namespace {

const std::string kPayload(150, 'u');

void BM_AppendRecord(benchmark::State& state) {
  std::string batch;
  batch.reserve(1 << 20);
  for (auto _ : state) {
    if (batch.size() > (1 << 20) - 256) batch.clear();
    AppendRecord(1, kPayload, batch);
    benchmark::DoNotOptimize(batch.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AppendRecord);

void BM_ScanLog(benchmark::State& state) {
  std::string log;
  AppendFileHeader({kLogMagic, 0, 0}, log);
  const int64_t records = state.range(0);
  for (int64_t i = 0; i < records; ++i) AppendRecord(1, kPayload, log);
  uint64_t seen = 0;
  for (auto _ : state) {
    Result<LogScan> scan =
        ScanLogBytes(log, "bench", kLogMagic, false,
                     [&](Lsn, uint32_t, std::string_view p) { seen += p.size(); });
    benchmark::DoNotOptimize(scan.ok());
  }
  state.SetItemsProcessed(state.iterations() * records);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(log.size()));
}
BENCHMARK(BM_ScanLog)->Arg(1 << 20)->Unit(benchmark::kMillisecond);

void BM_ShardLogBurst(benchmark::State& state) {
  const auto policy = static_cast<FsyncPolicy>(state.range(0));
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp ? tmp : "/tmp") + "/percore-log-bench-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  runtime::Runtime runtime({.shards = 1, .pin = false});
  runtime.Start();
  Result<LogFile> file = LogFile::Open(dir + "/shard-0.log", {kLogMagic, 0, 0}, 0);
  std::shared_ptr<ShardLog> log;
  {
    std::promise<void> started;
    runtime.SubmitTo(0, [&] {
      log = ShardLog::Start(runtime.shard(0), std::move(*file), 0, {.policy = policy});
      started.set_value();
    });
    started.get_future().get();
  }
  constexpr int kBurst = 64;
  for (auto _ : state) {
    std::promise<void> acknowledged;
    runtime.SubmitTo(0, [&] {
      Lsn last = 0;
      for (int i = 0; i < kBurst; ++i) last = *log->Append(1, kPayload);
      log->WhenDurable(last, [&](const Status&) { acknowledged.set_value(); });
    });
    acknowledged.get_future().get();
  }
  std::promise<void> closed;
  runtime.SubmitTo(0, [&] {
    log->Close();
    log.reset();
    closed.set_value();
  });
  closed.get_future().get();
  runtime.Stop();
  std::filesystem::remove_all(dir);
  state.SetItemsProcessed(state.iterations() * kBurst);
  state.SetLabel(std::string(FsyncPolicyName(policy)));
}
BENCHMARK(BM_ShardLogBurst)
    ->Arg(static_cast<int>(FsyncPolicy::kNo))
    ->Arg(static_cast<int>(FsyncPolicy::kEverySec))
    ->Arg(static_cast<int>(FsyncPolicy::kAlways))
    ->UseRealTime();

}  // namespace
}  // namespace percore::durability

BENCHMARK_MAIN();
