#pragma once
// Threading contract: one per load worker, touched by that worker's thread alone; the schedule
// it claims from is shared with the other workers (lock-free, load_schedule.h).
//
// What a load worker does with its slots between their calls, whichever client runs the calls
// (LoadWorker on libgrpc, NativeLoadWorker on nghttp2). A slot claims its next ticket and
// either starts its call at once, parks until the ticket is due (--rps; claims are made in
// order, so a FIFO is ordered by due time) or goes idle when the run has no call left; the
// worker runs until no slot has work. At the end of -z or on SIGINT the worker stops claiming
// and deals with the calls in flight as --duration-stop says. A finished call's outcome is
// recorded unless --skipFirst or --duration-stop ignore leaves it out. `Slot` has StartCall()
// (start the call of the ticket it claimed) and due() (that ticket's due time).

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>

#include "tools/load/load_options.h"
#include "tools/load/load_schedule.h"
#include "tools/load/run_stats.h"

namespace percore::load {

template <class Slot>
class SlotBook {
 public:
  SlotBook(LoadSchedule& schedule, const LoadOptions& options, int64_t unix_start_ns)
      : schedule_(schedule), options_(options), unix_start_ns_(unix_start_ns) {}

  // Before the first Claim: every one of the worker's `slots` has work.
  void Begin(size_t slots) { active_slots_ = slots; }
  // Whether any slot still has work (a call in flight, or a parked ticket).
  bool active() const { return active_slots_ > 0; }
  bool stopping() const { return stopping_; }

  // The claim-or-park step: true when `slot` is to start the call of `*ticket` now; false when
  // it parked (its ticket is not yet due: StartDue starts it) or went idle (no ticket left).
  bool Claim(Slot* slot, Ticket* ticket) {
    auto now = Clock::now();
    std::optional<Ticket> claimed;
    if (!stopping_) claimed = schedule_.Claim(now);
    if (!claimed) {
      --active_slots_;
      return false;
    }
    *ticket = *claimed;
    if (ticket->due > now) {
      parked_.push_back(slot);
      return false;
    }
    return true;
  }

  // Starts the parked slots whose tickets are due; returns the earliest due time still parked.
  std::optional<Clock::time_point> StartDue() {
    if (parked_.empty()) return std::nullopt;
    auto now = Clock::now();
    while (!parked_.empty() && parked_.front()->due() <= now) {
      Slot* slot = parked_.front();
      parked_.pop_front();
      slot->StartCall();
    }
    if (parked_.empty()) return std::nullopt;
    return parked_.front()->due();
  }

  // At the end of -z or on SIGINT: claims no more. True when the calls in flight are to be
  // ended now (the worker stops each slot); the parked tickets' calls are never made.
  bool StopIfDue(bool interrupted) {
    if (stopping_) return false;
    if (!interrupted && !schedule_.TimeUp(Clock::now())) return false;
    stopping_ = true;
    if (interrupted) schedule_.Stop();
    const std::string& mode = options_.duration_stop;
    // Ctrl-C means now, whatever --duration-stop says.
    if (!interrupted && mode == "wait") return false;
    discard_stopped_ = !interrupted && mode == "ignore";
    active_slots_ -= parked_.size();
    parked_.clear();
    return true;
  }

  // A finished call of `ticket`; `stopped`: its slot was stopped (StopIfDue) while it ran.
  void Record(const Ticket& ticket, const CallOutcome& outcome, bool stopped) {
    if ((stopped && discard_stopped_) || schedule_.SkipResult()) return;
    stats_.Record(outcome);
    if (!options_.details) return;
    auto offset = ticket.due - schedule_.start();
    const grpc::Status& status = outcome.status;
    stats_.RecordDetail(CallDetail{unix_start_ns_ + std::chrono::nanoseconds(offset).count(),
                                   outcome.latency.count(), status.error_code(),
                                   status.ok() ? "" : status.error_message()});
  }

  RunStats& stats() { return stats_; }

 private:
  LoadSchedule& schedule_;
  const LoadOptions& options_;
  const int64_t unix_start_ns_;
  std::deque<Slot*> parked_;  // slots whose ticket is not yet due, earliest first
  size_t active_slots_ = 0;
  bool stopping_ = false;
  bool discard_stopped_ = false;  // --duration-stop ignore
  RunStats stats_;
};

}  // namespace percore::load
