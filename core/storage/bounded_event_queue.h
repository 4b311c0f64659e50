// BoundedEventQueue: the events a watcher has been sent but has not written yet, with a hard
// cap.
//
// Threading contract: single-threaded, no locks. The queue lives on the shard that produces
// into it (typically filled by a ChangeFeed sink and drained by the same shard's stream
// writer); handing events to another shard goes through the runtime's mailbox, not through
// this queue.
//
// Why it refuses instead of dropping or growing: a watcher must never miss an event silently,
// the server must never buffer without bound, and a writer must never wait for a slow reader.
// So once the queue is full it latches overflowed(): every later Push is refused, even after
// Pops make room, because accepting later events after losing one would present a stream with
// a hole as if it were complete. The owner drains what is queued (or not) and ends the stream
// with RESOURCE_EXHAUSTED so the client re-reads and re-watches.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>

namespace percore::storage {

template <class T>
class BoundedEventQueue {
 public:
  // A capacity of 0 refuses every push (it overflows on the first one).
  explicit BoundedEventQueue(size_t capacity) : capacity_(capacity) {}

  // Appends `item`. Returns false, and latches overflowed(), if the queue is full or has
  // overflowed before; a refused item is destroyed.
  [[nodiscard]] bool Push(T item) {
    if (overflowed_ || items_.size() >= capacity_) {
      overflowed_ = true;
      return false;
    }
    items_.push_back(std::move(item));
    return true;
  }

  // The oldest item, or nullopt if empty. Works after overflow too, so the owner may still
  // deliver what was accepted before ending the stream.
  std::optional<T> Pop() {
    if (items_.empty()) return std::nullopt;
    std::optional<T> item(std::move(items_.front()));
    items_.pop_front();
    return item;
  }

  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  size_t capacity() const { return capacity_; }
  // True once a Push was refused; never resets.
  bool overflowed() const { return overflowed_; }

 private:
  // A deque, not a ring preallocated to capacity: most watchers hold a few events at most,
  // while capacity is sized for the worst burst (default 1024).
  std::deque<T> items_;
  size_t capacity_;
  bool overflowed_ = false;
};

}  // namespace percore::storage
