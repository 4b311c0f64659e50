#pragma once
// Threading contract: Push() from any thread; Drain() and Close() only from the owning shard's
// thread (Close() may also be called after that thread has been joined).
//
// A lock-free multi-producer/single-consumer mailbox of Tasks. A push wakes the consumer through
// `wake`, at most once per drain (`wake_pending_`), so a burst of pushes costs one wake-up. The
// consumer clears `wake_pending_` *before* draining: a producer that pushes after the drain looked
// is guaranteed to see the flag clear and wake the consumer again. Close() waits for producers
// already inside Push() and refuses later ones, so the owner can tear down what `wake` uses.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "core/runtime/mpsc_queue.h"
#include "core/runtime/task.h"

namespace percore::runtime {

class Mailbox {
 public:
  explicit Mailbox(std::function<void()> wake) : wake_(std::move(wake)) {}
  ~Mailbox();
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // False when the mailbox is closed; the task is then destroyed on the calling thread.
  bool Push(std::unique_ptr<Task> task);

  // Runs up to `budget` tasks; returns how many ran. If tasks remain, it wakes itself again so
  // the shard goes back to its completion queue in between (no starvation of gRPC events).
  size_t Drain(size_t budget);

  // Refuses further pushes and returns once no producer is inside Push().
  void Close();
  bool closed() const { return (state_.load(std::memory_order_acquire) & kClosed) != 0; }

  uint64_t pushed() const { return pushed_.load(std::memory_order_relaxed); }
  // Tasks run so far, and those pushed and not yet run (a sample: any thread may read them).
  uint64_t ran() const { return ran_.load(std::memory_order_relaxed); }
  uint64_t depth() const {
    uint64_t ran_now = ran();
    uint64_t pushed_now = pushed();  // may lag: a task can run before its push is counted
    return pushed_now > ran_now ? pushed_now - ran_now : 0;
  }

 private:
  static constexpr uint64_t kClosed = 1;
  static constexpr uint64_t kProducer = 2;

  MpscQueue queue_;
  std::function<void()> wake_;
  std::atomic<bool> wake_pending_{false};
  std::atomic<uint64_t> state_{0};  // kClosed bit + kProducer per producer inside Push()
  std::atomic<uint64_t> pushed_{0};
  std::atomic<uint64_t> ran_{0};  // written by the consumer only
};

}  // namespace percore::runtime
