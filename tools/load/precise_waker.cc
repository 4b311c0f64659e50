#include "tools/load/precise_waker.h"

#include <grpcpp/alarm.h>
#include <sys/prctl.h>

namespace percore::load {
namespace {

// One posted wake-up: the alarm and its tag live until the tag is completed on the queue's
// thread, which frees them (an alarm must not be destroyed while pending, nor shared between
// threads, so each wake-up gets its own).
struct PostedWake {
  grpc::Alarm alarm;
  grpcdyn::CqTag tag{&Fire, this};
  grpcdyn::CqTag target;

  static void Fire(void* self, bool ok) {
    auto* wake = static_cast<PostedWake*>(self);
    grpcdyn::CqTag target = wake->target;
    delete wake;
    if (ok) target.Complete(true);
  }
};

}  // namespace

PreciseWaker::PreciseWaker(grpc::CompletionQueue& cq, grpcdyn::CqTag on_wake)
    : cq_(cq), on_wake_(on_wake), thread_([this] { Loop(); }) {}

PreciseWaker::~PreciseWaker() { Stop(); }

void PreciseWaker::WakeAt(Clock::time_point when) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (armed_ && when_ == when) return;
    armed_ = true;
    when_ = when;
  }
  changed_.notify_one();
}

void PreciseWaker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  changed_.notify_one();
  thread_.join();
}

void PreciseWaker::Loop() {
  // The default 50 us timer slack would be most of the error this thread exists to remove.
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (!armed_) {
      changed_.wait(lock);
      continue;
    }
    Clock::time_point when = when_;
    if (Clock::now() < when) {
      // Woken early by a new request or a stop: look again.
      changed_.wait_until(lock, when);
      continue;
    }
    armed_ = false;
    auto* wake = new PostedWake;
    wake->target = on_wake_;
    // A deadline in the past: gRPC posts the tag at once and kicks the polling thread.
    wake->alarm.Set(&cq_, gpr_time_0(GPR_CLOCK_MONOTONIC), &wake->tag);
  }
}

}  // namespace percore::load
