#pragma once
// Threading contract: RunLoad is called from the main thread and blocks until the run is over;
// it starts and joins the worker threads itself. `interrupted` may be set from a signal handler
// (a lock-free atomic store) to end the run early.
//
// A whole load run: the schedule, -c slots spread over --threads LoadWorkers, and their
// statistics merged once the workers have joined.

#include <atomic>
#include <chrono>
#include <string>

#include "tools/load/load_plan.h"
#include "tools/load/run_stats.h"

namespace percore::load {

struct RunResult {
  RunStats stats;
  std::chrono::nanoseconds total{0};  // from the first call's start to the last one's end
  std::string end_reason;             // ghz's: "normal", "timeout" (end of -z), "cancel" (SIGINT)
  std::chrono::system_clock::time_point date;
};

RunResult RunLoad(const LoadPlan& plan, const std::atomic<bool>& interrupted);

}  // namespace percore::load
