#pragma once
// Threading contract: as LoadThread: built on the main thread, then Run() on its own thread,
// which alone touches its epoll, connections, slots and stats. The plan, schedule and
// interrupt flag are shared read-mostly with the other workers and outlive the worker.
//
// One client thread of a load run on percore-load's native transport (--client-transport
// native): its own epoll loop, its own HTTP/2 connections (NativeEndpoint, nghttp2), and a
// fixed set of slots that each run one unary or server-streaming call at a time, claiming
// tickets from the shared schedule exactly as LoadWorker's slots do. A finished call's slot
// is restarted after the loop has handled the round's events (never from inside nghttp2's
// callbacks), and every connection's output leaves in one send() per round. Deadlines are the
// client's too (grpc-timeout is sent, and a call still in flight at its deadline is reset and
// counted DEADLINE_EXCEEDED); --rps wake-ups come from a timerfd (nanoseconds, unlike
// epoll_wait's milliseconds).

#include <atomic>
#include <memory>
#include <vector>

#include "tools/load/load_plan.h"
#include "tools/load/load_schedule.h"
#include "tools/load/load_thread.h"
#include "tools/load/native_endpoint.h"
#include "tools/load/native_request.h"
#include "tools/load/run_stats.h"
#include "tools/load/slot_book.h"

namespace percore::load {

class NativeLoadWorker : public LoadThread {
 public:
  // `slot_count` slots spread over `connection_count` connections of this worker's own.
  NativeLoadWorker(const LoadPlan& plan, LoadSchedule& schedule,
                   const std::atomic<bool>& interrupted, size_t slot_count, size_t connection_count,
                   int64_t unix_start_ns);
  ~NativeLoadWorker() override;

  void Run() override;
  RunStats& stats() override { return book_.stats(); }
  Clock::time_point finished_at() const override { return finished_at_; }

 private:
  class Slot;

  void RunReady();
  void StartDueSlots();
  void ExpireDeadlines(Clock::time_point now);
  void StopIfDue();
  int WaitMillis(Clock::time_point now) const;
  void ArmTimer(Clock::time_point when);

  const LoadPlan& plan_;
  LoadSchedule& schedule_;
  const std::atomic<bool>& interrupted_;
  const int epoll_fd_;
  const int timer_fd_;
  NativeRequest request_;
  std::vector<std::unique_ptr<NativeEndpoint>> endpoints_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Slot*> ready_;    // finished this round: claim their next ticket
  std::vector<Slot*> running_;  // the batch RunReady is restarting (kept for its capacity)
  SlotBook<Slot> book_;
  Clock::time_point timer_armed_for_{};
  Clock::time_point next_deadline_ = Clock::time_point::max();
  Clock::time_point finished_at_;
};

}  // namespace percore::load
