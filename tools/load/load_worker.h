#pragma once
// Threading contract: a LoadWorker is built on the main thread, then Run() on its own thread,
// which is the only one to touch it (its completion queue, slots and stats) until Run returns;
// the runner reads the stats after joining. The plan, schedule and interrupt flag are shared
// read-mostly with the other workers and outlive the worker.
//
// One client thread of a load run: one grpc::CompletionQueue polled with AsyncNext, and a fixed
// set of slots, each of which runs one call at a time (its share of -c). A slot claims a
// ticket from the shared schedule, runs the call (grpcdyn::RpcCall), records the outcome and
// claims again. A ticket not yet due (--rps) parks its slot in a queue ordered by due time
// (claims are made in order, so a FIFO is ordered) until a PreciseWaker wakes the thread.
// The thread only dispatches tags and does gRPC's polling, so one or two of them drive
// thousands of calls in flight.

#include <grpcpp/completion_queue.h>
#include <grpcpp/generic/generic_stub.h>

#include <atomic>
#include <memory>
#include <vector>

#include "tools/load/load_plan.h"
#include "tools/load/load_schedule.h"
#include "tools/load/load_thread.h"
#include "tools/load/precise_waker.h"
#include "tools/load/run_stats.h"
#include "tools/load/slot_book.h"

namespace percore::load {

class LoadWorker : public LoadThread {
 public:
  // Runs slots [first_slot, first_slot + slot_count) of the run; slot i uses connection
  // i mod --connections, so the calls of every worker spread over all connections.
  LoadWorker(const LoadPlan& plan, LoadSchedule& schedule, const std::atomic<bool>& interrupted,
             size_t first_slot, size_t slot_count, int64_t unix_start_ns);
  ~LoadWorker() override;

  // Returns when every slot is out of work and the queue is drained.
  void Run() override;
  RunStats& stats() override { return book_.stats(); }
  Clock::time_point finished_at() const override { return finished_at_; }

 private:
  class Slot;

  // At the end of -z or on SIGINT: stop claiming and deal with calls in flight (--duration-stop).
  void StopIfDue();
  // Starts the parked slots whose tickets are due and asks the waker for the next due time.
  void StartDueSlots();
  void OnWake(bool ok);

  const LoadPlan& plan_;
  LoadSchedule& schedule_;
  const std::atomic<bool>& interrupted_;
  // Declared first so it is destroyed last, after every call that used it.
  grpc::CompletionQueue cq_;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs_;  // one per connection
  std::vector<grpc::ByteBuffer> requests_;                 // this thread's copies
  std::vector<std::unique_ptr<Slot>> slots_;
  SlotBook<Slot> book_;
  std::unique_ptr<PreciseWaker> waker_;  // with --rps only
  Clock::time_point waker_armed_for_;
  grpcdyn::CqTag wake_tag_{&grpcdyn::OnTag<LoadWorker, &LoadWorker::OnWake>, this};
  Clock::time_point finished_at_;
};

}  // namespace percore::load
