#pragma once
// Threading contract: owned by one shard; every call from that shard's thread.
//
// The shard's timers. The shard loop waits on its completion queue with AsyncNext until the
// earliest deadline, so timers cost no grpc::Alarm (alarms hold up CQ drain at shutdown).
//
// Layout: the timers live in a slab of slots (reused through a free list, so a shard that sets
// and cancels timers all day allocates nothing once warm), ordered by a binary heap of small
// (deadline, sequence, slot) entries; each slot knows its heap position, so Cancel removes its
// entry at once (the heap never holds cancelled timers). A TimerId is the slot and the slot's
// generation, bumped whenever the slot is freed, so the id of a timer that ran or was cancelled
// never names a later one: a slot whose generation would wrap is retired, never reused. Timers
// with one deadline run in the order they were added (the sequence breaks ties).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "core/observe/trace_context.h"

namespace percore::runtime {

using Clock = std::chrono::steady_clock;
// Never 0 (callers keep 0 for "none").
using TimerId = uint64_t;

class TimerQueue {
 public:
  TimerQueue() = default;
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  TimerId Add(Clock::time_point deadline, std::function<void()> fn);
  // False when the timer already ran or was cancelled.
  bool Cancel(TimerId id);
  std::optional<Clock::time_point> next_deadline() const;
  // Runs every timer due at `now`, in deadline order; returns how many ran.
  size_t RunDue(Clock::time_point now);
  // Drops every pending timer without running it (shutdown).
  void Clear();
  size_t size() const { return heap_.size(); }

 private:
  static constexpr uint32_t kNotQueued = UINT32_MAX;

  struct Slot {
    std::function<void()> fn;
    observe::TraceContext trace;  // the context it was set in, ambient while it runs
    uint32_t generation = 1;      // the id's high half; 0 is never handed out
    uint32_t heap_index = kNotQueued;
  };
  struct Due {
    Clock::time_point deadline;
    uint64_t sequence;  // order of Add among equal deadlines
    uint32_t slot;
  };

  static bool Before(const Due& a, const Due& b) {
    return a.deadline < b.deadline || (a.deadline == b.deadline && a.sequence < b.sequence);
  }
  // Puts `due` at heap position `index` and tells its slot.
  void Place(size_t index, const Due& due) {
    heap_[index] = due;
    slots_[due.slot].heap_index = static_cast<uint32_t>(index);
  }
  void SiftUp(size_t index);
  void SiftDown(size_t index);
  // Takes the entry at heap position `index` out of the heap.
  void RemoveAt(size_t index);
  // The slot's timer is gone (ran, cancelled or dropped): its id stops naming anything.
  void Free(uint32_t slot);

  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;  // slots to reuse, the last freed first
  std::vector<Due> heap_;       // heap_[0] is the earliest
  uint64_t next_sequence_ = 0;
};

}  // namespace percore::runtime
