#include "tools/load/load_runner.h"

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

#include "tools/load/load_schedule.h"
#include "tools/load/load_worker.h"
#include "tools/load/native_load_worker.h"

namespace percore::load {

RunResult RunLoad(const LoadPlan& plan, const std::atomic<bool>& interrupted) {
  const LoadOptions& o = *plan.options;
  // More slots than calls would only sit idle.
  uint64_t slots = o.duration.count() > 0 ? o.concurrency : std::min(o.concurrency, o.total);
  size_t threads = static_cast<size_t>(std::clamp<uint64_t>(o.threads, 1, slots));
  // A native worker owns its connections, so there are no more workers than connections.
  if (plan.native_client) threads = std::min<size_t>(threads, o.connections);

  RunResult result;
  result.date = std::chrono::system_clock::now();
  int64_t unix_start_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(result.date.time_since_epoch()).count();
  LoadSchedule schedule(o, Clock::now());

  std::vector<std::unique_ptr<LoadThread>> workers;
  for (size_t t = 0; t < threads; ++t) {
    size_t first = slots * t / threads;
    size_t last = slots * (t + 1) / threads;
    if (plan.native_client) {
      size_t connections = o.connections * (t + 1) / threads - o.connections * t / threads;
      workers.push_back(std::make_unique<NativeLoadWorker>(
          plan, schedule, interrupted, last - first, connections, unix_start_ns));
    } else {
      workers.push_back(std::make_unique<LoadWorker>(plan, schedule, interrupted, first,
                                                     last - first, unix_start_ns));
    }
  }
  std::vector<std::thread> running;
  for (auto& worker : workers) running.emplace_back([&worker] { worker->Run(); });
  for (auto& thread : running) thread.join();

  Clock::time_point finished = schedule.start();
  for (auto& worker : workers) {
    finished = std::max(finished, worker->finished_at());
    result.stats.Merge(std::move(worker->stats()));
  }
  std::sort(result.stats.details().begin(), result.stats.details().end(),
            [](const CallDetail& a, const CallDetail& b) {
              return a.timestamp_unix_ns < b.timestamp_unix_ns;
            });
  result.total = finished - schedule.start();
  if (interrupted.load()) {
    result.end_reason = "cancel";
  } else if (schedule.timed()) {
    result.end_reason = "timeout";
  } else {
    result.end_reason = "normal";
  }
  return result;
}

}  // namespace percore::load
