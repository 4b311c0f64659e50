#pragma once
// Threading contract: one InFlightCalls per shard; Add, Remove and CancelAll only on that shard's
// thread.
//
// The remote calls a shard has started and not yet completed, as an intrusive list (no
// allocation per call), so that shutdown can cancel them instead of waiting out their deadlines:
// a completion queue cannot finish shutting down while a call on it is pending.

#include <cstddef>

namespace percore::remote {

class InFlightCall {
 public:
  // Asks gRPC to end the call (it then completes, CANCELLED, through its tag as usual).
  virtual void Cancel() = 0;

 protected:
  ~InFlightCall() = default;

 private:
  friend class InFlightCalls;
  InFlightCall* prev_ = nullptr;
  InFlightCall* next_ = nullptr;
};

class InFlightCalls {
 public:
  void Add(InFlightCall* call) {
    call->prev_ = nullptr;
    call->next_ = head_;
    if (head_) head_->prev_ = call;
    head_ = call;
    ++size_;
  }
  void Remove(InFlightCall* call) {
    if (call->prev_) {
      call->prev_->next_ = call->next_;
    } else {
      head_ = call->next_;
    }
    if (call->next_) call->next_->prev_ = call->prev_;
    call->prev_ = call->next_ = nullptr;
    --size_;
  }
  // Cancel() only asks; the calls stay listed until their completions remove them.
  void CancelAll() {
    for (InFlightCall* call = head_; call; call = call->next_) call->Cancel();
  }
  size_t size() const { return size_; }

 private:
  InFlightCall* head_ = nullptr;
  size_t size_ = 0;
};

}  // namespace percore::remote
