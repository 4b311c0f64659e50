#pragma once
// Threading contract: pure functions over a finished run, called on the main thread.
//
// The load report in ghz's shape: the same numbers under the same names (count, total,
// average, fastest, slowest, rps, errorDistribution, statusCodeDistribution,
// latencyDistribution, histogram, details; durations in nanoseconds), so scripts written for
// ghz's JSON read percore-load's, and the same human summary. Streams add what ghz lacks:
// messages and bytes received, in total and per second.

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tools/load/load_runner.h"

namespace percore::load {

struct LatencyPoint {
  double percentage = 0;
  int64_t latency_ns = 0;
};

struct HistogramBar {
  double mark_seconds = 0;  // upper edge of the bar, as ghz
  uint64_t count = 0;
  double frequency = 0;
};

struct LoadReport {
  std::string date;        // RFC 3339, UTC
  std::string end_reason;  // normal | timeout | cancel
  nlohmann::ordered_json options;
  uint64_t count = 0;
  int64_t total_ns = 0;
  int64_t average_ns = 0;
  int64_t fastest_ns = 0;
  int64_t slowest_ns = 0;
  double rps = 0;
  std::map<std::string, uint64_t> errors;
  std::map<std::string, uint64_t> status_codes;  // Go names: "OK", "NotFound", ...
  std::vector<LatencyPoint> latency_distribution;
  std::vector<HistogramBar> histogram;
  bool streaming = false;
  uint64_t messages_sent = 0;
  uint64_t messages_received = 0;
  uint64_t bytes_received = 0;
  double messages_per_second = 0;
  double bytes_per_second = 0;
  std::vector<CallDetail> details;
  bool with_details = false;
};

// ghz's percentiles, and 99.9.
inline constexpr double kPercentiles[] = {10, 25, 50, 75, 90, 95, 99, 99.9};

LoadReport BuildReport(RunResult& run, nlohmann::ordered_json options, bool streaming,
                       bool with_details);
std::string RenderJson(const LoadReport& report, bool pretty);
std::string RenderSummary(const LoadReport& report);

}  // namespace percore::load
