#pragma once
// Threading contract: shared by all load workers; Claim, SkipResult and Stop are lock-free
// (atomics), everything else is fixed at construction.
//
// Which call comes next and when it is due. Calls are numbered from 0 across all workers.
// Without --rps a call is due when a slot claims it (closed loop). With --rps call n is due at
// start + n/rps whatever happens to earlier calls (open loop): a slot that claims it early
// waits, one that claims it late starts at once, and either way its latency is measured from
// the due time, so a stall shows in the percentiles (no coordinated omission).

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>

#include "tools/load/load_options.h"

namespace percore::load {

using Clock = std::chrono::steady_clock;

struct Ticket {
  uint64_t number = 0;
  Clock::time_point due;
};

class LoadSchedule {
 public:
  LoadSchedule(const LoadOptions& options, Clock::time_point start)
      : total_(options.total),
        duration_(options.duration),
        rps_(options.rps),
        skip_first_(options.skip_first),
        start_(start),
        end_(start + options.duration) {}

  // The next call, or nothing when the run has made all its calls (or its time is up).
  std::optional<Ticket> Claim(Clock::time_point now) {
    if (stopped_.load(std::memory_order_relaxed)) return std::nullopt;
    uint64_t n = next_.fetch_add(1, std::memory_order_relaxed);
    if (duration_.count() == 0 && n >= total_) return std::nullopt;
    Clock::time_point due = now;
    if (rps_ > 0) {
      due = start_ + std::chrono::nanoseconds(
                         static_cast<int64_t>(std::llround(static_cast<double>(n) * 1e9 / rps_)));
    }
    if (timed() && due >= end_) return std::nullopt;
    return Ticket{n, due};
  }

  // --skipFirst: true for the first N results to arrive, which the report leaves out.
  bool SkipResult() {
    return skip_first_ > 0 && results_.fetch_add(1, std::memory_order_relaxed) < skip_first_;
  }

  // Ends the run early (SIGINT): no further claims succeed.
  void Stop() { stopped_.store(true, std::memory_order_relaxed); }
  bool stopped() const { return stopped_.load(std::memory_order_relaxed); }

  bool timed() const { return duration_.count() > 0; }
  bool TimeUp(Clock::time_point now) const { return timed() && now >= end_; }
  Clock::time_point start() const { return start_; }
  Clock::time_point end() const { return end_; }

 private:
  const uint64_t total_;
  const std::chrono::nanoseconds duration_;
  const double rps_;
  const uint64_t skip_first_;
  const Clock::time_point start_;
  const Clock::time_point end_;
  std::atomic<uint64_t> next_{0};
  std::atomic<uint64_t> results_{0};
  std::atomic<bool> stopped_{false};
};

}  // namespace percore::load
