#include "core/runtime/timer_queue.h"

#include <utility>

namespace percore::runtime {

TimerId TimerQueue::Add(Clock::time_point deadline, std::function<void()> fn) {
  TimerId id = next_id_++;
  auto it = by_deadline_.emplace(deadline, Entry{id, std::move(fn), observe::CurrentTrace()});
  by_id_.emplace(id, it);
  return id;
}

bool TimerQueue::Cancel(TimerId id) {
  auto found = by_id_.find(id);
  if (found == by_id_.end()) return false;
  by_deadline_.erase(found->second);
  by_id_.erase(found);
  return true;
}

std::optional<Clock::time_point> TimerQueue::next_deadline() const {
  if (by_deadline_.empty()) return std::nullopt;
  return by_deadline_.begin()->first;
}

size_t TimerQueue::RunDue(Clock::time_point now) {
  size_t ran = 0;
  while (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
    auto it = by_deadline_.begin();
    std::function<void()> fn = std::move(it->second.fn);
    observe::TraceScope trace(it->second.trace);
    by_id_.erase(it->second.id);
    by_deadline_.erase(it);
    fn();  // may add or cancel timers
    ++ran;
  }
  return ran;
}

void TimerQueue::Clear() {
  // Move out first: destroying a callback may release a call that cancels another timer.
  ByDeadline dropped = std::move(by_deadline_);
  by_deadline_.clear();
  by_id_.clear();
  dropped.clear();
}

}  // namespace percore::runtime
