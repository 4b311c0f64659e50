// PaymentService's calls waiting on their home shard for the processor's answer (the rest of
// the service API is in payment_service.cc): each one's deadline timer, its answer, and its
// abandonment (deadline, cancel, drain), which tells the key's owner the waiter is gone.

#include <string>
#include <utility>
#include <vector>

#include "services/payment/payment_service.h"

namespace percore::payment {

void PaymentService::StartDeadline(uint64_t ticket, runtime::Clock::time_point hold_until) {
  PaymentShard& home = shards_.local();
  auto it = home.waiting.find(ticket);
  if (it == home.waiting.end()) return;  // abandoned meanwhile; the owner was told
  it->second.deadline_timer =
      home.shard.RunAfter(hold_until - runtime::Clock::now(), [this, &home, ticket] {
        auto found = home.waiting.find(ticket);
        if (found == home.waiting.end()) return;
        found->second.deadline_timer = 0;  // this timer has run
        Abandon(ticket, Status(StatusCode::kDeadlineExceeded,
                               found->second.held
                                   ? "the payment processor did not answer by the deadline; "
                                     "nothing was charged"
                                   : "the payment processor did not answer by the deadline; it "
                                     "may still approve: retry with the same idempotency_key"));
      });
}

void PaymentService::Answer(PaymentShard& home, uint64_t ticket, Result<v1::PaymentResult> answer) {
  auto it = home.waiting.find(ticket);
  if (it == home.waiting.end()) return;  // abandoned: its caller already has an answer
  if (it->second.deadline_timer != 0) home.shard.CancelTimer(it->second.deadline_timer);
  Done done = std::move(it->second.done);
  home.waiting.erase(it);
  done(std::move(answer));
}

void PaymentService::Abandon(uint64_t ticket, const Status& status) {
  PaymentShard& home = shards_.local();
  auto it = home.waiting.find(ticket);
  if (it == home.waiting.end()) return;
  PaymentShard::WaitingCall call = std::move(it->second);
  home.waiting.erase(it);
  if (call.deadline_timer != 0) home.shard.CancelTimer(call.deadline_timer);
  Waiter waiter{home.shard.id(), ticket};
  // A payment forgotten with its last waiter is logged as such, or recovery would void it.
  auto drop = [](PaymentShard& owner, const std::string& key, const Waiter& waiter) {
    if (owner.ledger.DropWaiter(key, waiter)) owner.journal.Log(kInFlightDrop, key);
  };
  if (call.owner == home.shard.id()) {
    drop(home, call.idempotency_key, waiter);
  } else {
    // After the Begin this shard sent there (one mailbox, in order), so the waiter is known.
    shards_.RunOn(call.owner, [drop, key = std::move(call.idempotency_key),
                               waiter](PaymentShard& owner) { drop(owner, key, waiter); });
  }
  call.done(status);
}

void PaymentService::Drain() {
  std::vector<uint64_t> held;
  for (const auto& [ticket, call] : shards_.local().waiting) {
    if (call.held) held.push_back(ticket);
  }
  for (uint64_t ticket : held) {
    Abandon(ticket, Status(StatusCode::kUnavailable,
                           "server is shutting down; the payment processor had not answered, "
                           "nothing was charged"));
  }
}

}  // namespace percore::payment
