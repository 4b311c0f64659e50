#pragma once
// Threading contract: owned by one shard; every call from that shard's thread.
//
// The shard's timers. The shard loop waits on its completion queue with AsyncNext until the
// earliest deadline, so timers cost no grpc::Alarm (alarms hold up CQ drain at shutdown).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>

#include "core/observe/trace_context.h"

namespace percore::runtime {

using Clock = std::chrono::steady_clock;
using TimerId = uint64_t;

class TimerQueue {
 public:
  TimerId Add(Clock::time_point deadline, std::function<void()> fn);
  // False when the timer already ran or was cancelled.
  bool Cancel(TimerId id);
  std::optional<Clock::time_point> next_deadline() const;
  // Runs every timer due at `now`, in deadline order; returns how many ran.
  size_t RunDue(Clock::time_point now);
  // Drops every pending timer without running it (shutdown).
  void Clear();
  size_t size() const { return by_id_.size(); }

 private:
  struct Entry {
    TimerId id;
    std::function<void()> fn;
    observe::TraceContext trace;  // the context it was set in, ambient while it runs
  };
  using ByDeadline = std::multimap<Clock::time_point, Entry>;
  ByDeadline by_deadline_;
  std::unordered_map<TimerId, ByDeadline::iterator> by_id_;
  TimerId next_id_ = 1;
};

}  // namespace percore::runtime
