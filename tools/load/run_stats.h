#pragma once
// Threading contract: single-threaded; one RunStats per load worker, merged by the runner after
// the workers have joined.
//
// Everything a load report is computed from: latencies (in a LatencyHistogram), status codes,
// error texts, and message and byte counts of streams. Memory is constant except the optional
// per-call details (--details) and the error texts, which are capped.

#include <grpcpp/support/status.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tools/load/latency_histogram.h"

namespace percore::load {

struct CallDetail {
  int64_t timestamp_unix_ns = 0;  // the call's intended start
  int64_t latency_ns = 0;
  int code = 0;
  std::string error;
};

struct CallOutcome {
  std::chrono::nanoseconds latency{0};
  grpc::Status status;
  uint64_t messages_sent = 0;
  uint64_t messages_received = 0;
  uint64_t bytes_received = 0;
};

class RunStats {
 public:
  // Distinct error texts kept; further ones are counted under kOtherErrors, so an error text
  // that embeds an id cannot grow the report without bound.
  static constexpr size_t kMaxDistinctErrors = 1000;
  static constexpr char kOtherErrors[] = "(other errors)";

  void Record(const CallOutcome& outcome);
  void RecordDetail(CallDetail detail) { details_.push_back(std::move(detail)); }
  void Merge(RunStats&& other);

  const LatencyHistogram& latencies() const { return latencies_; }
  uint64_t count() const { return latencies_.count(); }
  const std::map<int, uint64_t>& status_codes() const { return status_codes_; }
  const std::map<std::string, uint64_t>& errors() const { return errors_; }
  uint64_t messages_sent() const { return messages_sent_; }
  uint64_t messages_received() const { return messages_received_; }
  uint64_t bytes_received() const { return bytes_received_; }
  std::vector<CallDetail>& details() { return details_; }

 private:
  void CountError(const std::string& text, uint64_t n);

  LatencyHistogram latencies_;
  std::map<int, uint64_t> status_codes_;
  std::map<std::string, uint64_t> errors_;
  uint64_t messages_sent_ = 0;
  uint64_t messages_received_ = 0;
  uint64_t bytes_received_ = 0;
  std::vector<CallDetail> details_;
};

}  // namespace percore::load
