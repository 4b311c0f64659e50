#pragma once
// Threading contract: Push() from any thread, concurrently; Pop() from exactly one consumer thread.
//
// Dmitry Vyukov's intrusive MPSC queue: a producer does one atomic exchange and one store, never
// a CAS loop, so producers never wait on each other or on the consumer. Pop() may return nullptr
// while a producer is between its two steps; the Mailbox's wake protocol makes that producer wake
// the consumer again afterwards, so nothing is stranded.

#include <atomic>

namespace percore::runtime {

struct MpscNode {
  std::atomic<MpscNode*> next{nullptr};
};

class MpscQueue {
 public:
  MpscQueue() : head_(&stub_), tail_(&stub_) {}
  MpscQueue(const MpscQueue&) = delete;
  MpscQueue& operator=(const MpscQueue&) = delete;

  void Push(MpscNode* node) {
    node->next.store(nullptr, std::memory_order_relaxed);
    MpscNode* prev = head_.exchange(node, std::memory_order_acq_rel);
    prev->next.store(node, std::memory_order_release);
  }

  // Consumer only. Returns nullptr when empty or when a producer is mid-push.
  MpscNode* Pop() {
    MpscNode* tail = tail_;
    MpscNode* next = tail->next.load(std::memory_order_acquire);
    if (tail == &stub_) {
      if (next == nullptr) return nullptr;
      tail_ = next;
      tail = next;
      next = next->next.load(std::memory_order_acquire);
    }
    if (next != nullptr) {
      tail_ = next;
      return tail;
    }
    if (tail != head_.load(std::memory_order_acquire)) return nullptr;  // a push is mid-way
    Push(&stub_);
    next = tail->next.load(std::memory_order_acquire);
    if (next != nullptr) {
      tail_ = next;
      return tail;
    }
    return nullptr;
  }

 private:
  alignas(64) std::atomic<MpscNode*> head_;  // producers
  alignas(64) MpscNode* tail_;               // consumer
  MpscNode stub_;
};

}  // namespace percore::runtime
