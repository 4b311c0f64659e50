#include "core/runtime/timer_queue.h"

#include <utility>

namespace percore::runtime {

TimerId TimerQueue::Add(Clock::time_point deadline, std::function<void()> fn) {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[slot];
  s.fn = std::move(fn);
  s.trace = observe::CurrentTrace();
  heap_.push_back(Due{deadline, next_sequence_++, slot});
  s.heap_index = static_cast<uint32_t>(heap_.size() - 1);
  SiftUp(heap_.size() - 1);
  return (static_cast<uint64_t>(s.generation) << 32) | slot;
}

bool TimerQueue::Cancel(TimerId id) {
  const uint32_t slot = static_cast<uint32_t>(id);
  const uint32_t generation = static_cast<uint32_t>(id >> 32);
  if (slot >= slots_.size()) return false;
  Slot& s = slots_[slot];
  if (s.generation != generation || s.heap_index == kNotQueued) return false;
  RemoveAt(s.heap_index);
  // Destroyed once the queue is consistent: releasing what the callback holds may cancel or
  // add other timers.
  std::function<void()> dropped = std::move(s.fn);
  s.fn = nullptr;
  s.trace = {};
  Free(slot);
  return true;
}

std::optional<Clock::time_point> TimerQueue::next_deadline() const {
  if (heap_.empty()) return std::nullopt;
  return heap_.front().deadline;
}

size_t TimerQueue::RunDue(Clock::time_point now) {
  size_t ran = 0;
  while (!heap_.empty() && heap_.front().deadline <= now) {
    const uint32_t slot = heap_.front().slot;
    RemoveAt(0);
    Slot& s = slots_[slot];
    std::function<void()> fn = std::move(s.fn);
    s.fn = nullptr;
    observe::TraceScope trace(s.trace);
    s.trace = {};
    Free(slot);
    fn();  // may add or cancel timers
    ++ran;
  }
  return ran;
}

void TimerQueue::Clear() {
  // Move out first: destroying a callback may release a call that cancels another timer.
  std::vector<std::function<void()>> dropped;
  dropped.reserve(heap_.size());
  for (const Due& due : heap_) {
    Slot& s = slots_[due.slot];
    dropped.push_back(std::move(s.fn));
    s.fn = nullptr;
    s.trace = {};
    s.heap_index = kNotQueued;
    Free(due.slot);
  }
  heap_.clear();
  dropped.clear();
}

void TimerQueue::SiftUp(size_t index) {
  const Due due = heap_[index];
  while (index > 0) {
    size_t parent = (index - 1) / 2;
    if (!Before(due, heap_[parent])) break;
    Place(index, heap_[parent]);
    index = parent;
  }
  Place(index, due);
}

void TimerQueue::SiftDown(size_t index) {
  const Due due = heap_[index];
  const size_t size = heap_.size();
  for (;;) {
    size_t child = 2 * index + 1;
    if (child >= size) break;
    if (child + 1 < size && Before(heap_[child + 1], heap_[child])) ++child;
    if (!Before(heap_[child], due)) break;
    Place(index, heap_[child]);
    index = child;
  }
  Place(index, due);
}

void TimerQueue::RemoveAt(size_t index) {
  slots_[heap_[index].slot].heap_index = kNotQueued;
  const size_t last = heap_.size() - 1;
  if (index != last) {
    const Due moved = heap_[last];
    heap_.pop_back();
    Place(index, moved);
    // The moved entry came from the bottom: it belongs either above `index` or below it.
    if (index > 0 && Before(moved, heap_[(index - 1) / 2])) {
      SiftUp(index);
    } else {
      SiftDown(index);
    }
  } else {
    heap_.pop_back();
  }
}

void TimerQueue::Free(uint32_t slot) {
  Slot& s = slots_[slot];
  s.heap_index = kNotQueued;
  if (++s.generation != 0) free_.push_back(slot);  // else retired: its ids stay unique
}

}  // namespace percore::runtime
