#pragma once
// Threading contract: owned by one shard; every method on that shard's thread. Destroyed only
// after the shard's completion queue is drained (its alarm's tag must have been delivered).
//
// How long work waits in this shard's completion queue right now, measured the way CoDel
// measures a packet's sojourn: a probe (an alarm already in the past, so gRPC queues its tag at
// once, behind every completion already waiting) records when it was sent, and its delay is the
// time until the shard loop reaches it. Calls ready to start wait in that same queue, so the
// probe's delay is the queueing delay a new call sees. `overloaded()` turns true once the delay
// has stayed above `target` for a whole `window` (a burst that drains within the window is not
// overload) as seen by at least two probes in a row, and false at the first probe below the
// target. Two, because one probe only says the loop did not run for a while: a process stopped
// or descheduled for a second (a frozen VM, a stalled disk) comes back to a short queue, and the
// next probe, behind that queue, says whether calls really wait. One probe in flight at a time,
// sent every `interval` while the shard has calls in flight; an idle shard sends none.

#include <grpcpp/alarm.h>

#include <chrono>
#include <optional>

#include "core/runtime/completion_tag.h"
#include "core/runtime/timer_queue.h"

namespace percore::runtime {

class Shard;

class QueueDelayProbe {
 public:
  struct Options {
    std::chrono::nanoseconds target{std::chrono::milliseconds(50)};
    std::chrono::nanoseconds window{std::chrono::milliseconds(1000)};
    std::chrono::nanoseconds interval{std::chrono::milliseconds(5)};
  };

  QueueDelayProbe(Shard& shard, Options options);
  QueueDelayProbe(const QueueDelayProbe&) = delete;
  QueueDelayProbe& operator=(const QueueDelayProbe&) = delete;

  // Starts probing if it is not already (call when there is work: a call starting).
  void Wake();
  // Whether the queueing delay has been over the target for a window, as of `now`: a probe
  // still waiting counts with its age so far.
  bool overloaded(Clock::time_point now);
  // The delay of the last probe that came back.
  std::chrono::nanoseconds last_delay() const { return last_delay_; }
  uint64_t samples() const { return samples_; }

 private:
  void Send();
  void OnProbe(bool ok);
  void Observe(std::chrono::nanoseconds delay, Clock::time_point now);

  Shard& shard_;
  const Options options_;
  grpc::Alarm alarm_;  // re-armed only on this shard, after its tag came back
  CompletionTag tag_{&OnTag<QueueDelayProbe, &QueueDelayProbe::OnProbe>, this};
  bool in_flight_ = false;
  bool scheduled_ = false;  // a timer will send the next probe
  Clock::time_point sent_at_;
  std::optional<Clock::time_point> above_since_;  // first time the delay was seen over target
  uint32_t above_samples_ = 0;                    // probes back in a row over the target
  bool overloaded_ = false;
  std::chrono::nanoseconds last_delay_{0};
  uint64_t samples_ = 0;
};

}  // namespace percore::runtime
