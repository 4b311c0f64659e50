#include "core/rpc/idle_streams.h"

#include <algorithm>

#include "core/runtime/shard.h"

namespace percore::rpc {

void IdleStreams::Watch(IdleLink& link, std::chrono::milliseconds timeout) {
  timeout_ = timeout;
  if (link.linked) {
    Touch(link);
    return;
  }
  link.last = runtime::Clock::now();
  PushBack(link);
  Arm();
}

void IdleStreams::Touch(IdleLink& link) {
  if (!link.linked) return;
  link.last = runtime::Clock::now();
  if (tail_ == &link) return;
  Unwatch(link);
  PushBack(link);
}

void IdleStreams::PushBack(IdleLink& link) {
  link.prev = tail_;
  link.next = nullptr;
  if (tail_) {
    tail_->next = &link;
  } else {
    head_ = &link;
  }
  tail_ = &link;
  link.linked = true;
  ++size_;
}

void IdleStreams::Unwatch(IdleLink& link) {
  if (!link.linked) return;
  if (link.prev) {
    link.prev->next = link.next;
  } else {
    head_ = link.next;
  }
  if (link.next) {
    link.next->prev = link.prev;
  } else {
    tail_ = link.prev;
  }
  link.prev = link.next = nullptr;
  link.linked = false;
  --size_;
}

void IdleStreams::Arm() {
  if (armed_ || head_ == nullptr || !shard_.cq_open()) return;
  armed_ = true;
  // A quarter of the timeout: a stream is ended at most 25% late, and a shard with many idle
  // streams sweeps four times per timeout, not once per stream.
  auto period = std::max<std::chrono::nanoseconds>(timeout_ / 4, std::chrono::milliseconds(10));
  shard_.RunAfter(period, [this] {
    armed_ = false;
    Sweep();
  });
}

void IdleStreams::Sweep() {
  runtime::Clock::time_point cutoff = runtime::Clock::now() - timeout_;
  while (head_ != nullptr && head_->last <= cutoff) {
    IdleLink& link = *head_;
    Unwatch(link);
    link.call->EndIdle(timeout_);  // may free the call (and its link)
  }
  Arm();
}

}  // namespace percore::rpc
