#include "core/runtime/mailbox.h"

#include <thread>

namespace percore::runtime {

Mailbox::~Mailbox() {
  while (MpscNode* node = queue_.Pop()) delete static_cast<Task*>(node);
}

bool Mailbox::Push(std::unique_ptr<Task> task) {
  if (state_.fetch_add(kProducer, std::memory_order_acq_rel) & kClosed) {
    state_.fetch_sub(kProducer, std::memory_order_release);
    return false;
  }
  queue_.Push(task.release());
  pushed_.fetch_add(1, std::memory_order_relaxed);
  if (!wake_pending_.exchange(true, std::memory_order_seq_cst)) wake_();
  state_.fetch_sub(kProducer, std::memory_order_release);
  return true;
}

size_t Mailbox::Drain(size_t budget) {
  wake_pending_.exchange(false, std::memory_order_seq_cst);
  size_t ran = 0;
  while (ran < budget) {
    MpscNode* node = queue_.Pop();
    if (node == nullptr) break;
    std::unique_ptr<Task> task(static_cast<Task*>(node));
    observe::TraceScope trace(task->trace);
    task->Run();
    ++ran;
  }
  // Only this thread writes ran_: a load and a store, once per drain (metrics read it).
  ran_.store(ran_.load(std::memory_order_relaxed) + ran, std::memory_order_relaxed);
  if (ran < budget) return ran;
  // Budget used up with work left: ask for another turn instead of starving the CQ.
  if (!closed() && !wake_pending_.exchange(true, std::memory_order_seq_cst)) wake_();
  return ran;
}

void Mailbox::Close() {
  state_.fetch_or(kClosed, std::memory_order_acq_rel);
  while (state_.load(std::memory_order_acquire) != kClosed) std::this_thread::yield();
}

}  // namespace percore::runtime
