#pragma once
// Threading contract: WakeAt, Stop and the destructor are called from the owning load
// worker's thread; the waker's own thread only sleeps and posts. The tag's handler runs on the
// thread polling the completion queue. Stop (or destroy) the waker before shutting the queue
// down, then complete every tag the drain returns so the last posted wake-up is freed.
//
// Wakes a completion queue at a precise time. gRPC's timers (grpc::Alarm, AsyncNext deadlines)
// fire through epoll_wait, whose timeout is in whole milliseconds and rounded up: a paced call
// would start ~0.7 ms late on average, and --rps latency, measured from the due time, would
// carry that error. This thread sleeps on a condition variable (nanosecond clock, timer slack
// lowered to 1 us) and at the due time posts a fresh grpc::Alarm with a past deadline, which
// gRPC delivers at once by kicking the poller (the fresh alarm per wake-up that GRPC-NOTES
// recommends, as core/runtime's mailbox does).

#include <grpcpp/completion_queue.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tools/grpcdyn/cq_tag.h"

namespace percore::load {

class PreciseWaker {
 public:
  using Clock = std::chrono::steady_clock;

  // `on_wake` is completed (ok = true) on the queue's thread each time a wake-up is due.
  PreciseWaker(grpc::CompletionQueue& cq, grpcdyn::CqTag on_wake);
  ~PreciseWaker();
  PreciseWaker(const PreciseWaker&) = delete;
  PreciseWaker& operator=(const PreciseWaker&) = delete;

  // Replaces any earlier request: one wake-up at `when` (at once if it has passed).
  void WakeAt(Clock::time_point when);
  void Stop();

 private:
  void Loop();

  grpc::CompletionQueue& cq_;
  const grpcdyn::CqTag on_wake_;
  std::mutex mu_;
  std::condition_variable changed_;
  bool armed_ = false;
  bool stop_ = false;
  Clock::time_point when_;
  std::thread thread_;
};

}  // namespace percore::load
