#include "core/runtime/queue_delay_probe.h"

#include <grpc/support/time.h>

#include "core/runtime/shard.h"

namespace percore::runtime {

QueueDelayProbe::QueueDelayProbe(Shard& shard, Options options)
    : shard_(shard), options_(options) {}

void QueueDelayProbe::Wake() {
  if (in_flight_ || scheduled_) return;
  // Probing had stopped because the shard had no call in flight: whatever was measured before
  // is stale, and a shard that went idle is not overloaded.
  above_since_.reset();
  above_samples_ = 0;
  overloaded_ = false;
  Send();
}

void QueueDelayProbe::Send() {
  scheduled_ = false;
  if (!shard_.cq_open() || in_flight_) return;
  in_flight_ = true;
  sent_at_ = Clock::now();
  // Already past: gRPC queues the tag now, behind what is waiting (shard.cc's wake-up does the
  // same; "now" would be rounded up to gRPC's next timer tick).
  alarm_.Set(shard_.cq(), gpr_inf_past(GPR_CLOCK_MONOTONIC), &tag_);
}

void QueueDelayProbe::OnProbe(bool /*ok*/) {
  in_flight_ = false;
  Clock::time_point now = Clock::now();
  Observe(now - sent_at_, now);
  // Keep measuring while there is work; an idle shard is woken again by its next call.
  if (shard_.cq_open() && shard_.live_calls() > 0) {
    scheduled_ = true;
    shard_.RunAfter(options_.interval, [this] { Send(); });
  }
}

void QueueDelayProbe::Observe(std::chrono::nanoseconds delay, Clock::time_point now) {
  last_delay_ = delay;
  ++samples_;
  if (delay < options_.target) {
    above_since_.reset();
    above_samples_ = 0;
    overloaded_ = false;
    return;
  }
  if (!above_since_) above_since_ = now - delay + options_.target;
  ++above_samples_;
  if (above_samples_ >= 2 && now - *above_since_ >= options_.window) overloaded_ = true;
}

bool QueueDelayProbe::overloaded(Clock::time_point now) {
  if (in_flight_ && !overloaded_ && above_since_) {
    // A probe stuck behind a long queue is evidence before it comes back: the second one in a
    // row over the target (the first alone may have waited out a stall, not a queue).
    std::chrono::nanoseconds age = now - sent_at_;
    if (age >= options_.target && now - *above_since_ >= options_.window) overloaded_ = true;
  }
  return overloaded_;
}

}  // namespace percore::runtime
