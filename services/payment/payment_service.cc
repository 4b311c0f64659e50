#include "services/payment/payment_service.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "services/payment/payment_validation.h"

namespace percore::payment {
namespace {
using SystemClock = std::chrono::system_clock;

google::protobuf::Timestamp Now() {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(SystemClock::now().time_since_epoch())
          .count());
}

// How long a call may wait for the processor: until the caller's deadline, at most `max_hold`.
runtime::Clock::time_point HoldUntil(SystemClock::time_point deadline,
                                     std::chrono::milliseconds max_hold) {
  runtime::Clock::time_point steady_now = runtime::Clock::now();
  SystemClock::time_point now = SystemClock::now();
  if (deadline <= now) return steady_now;
  // deadline - now cannot overflow: deadline is at most time_point::max() and now is positive.
  auto remaining = std::chrono::duration_cast<runtime::Clock::duration>(deadline - now);
  return steady_now + std::min<runtime::Clock::duration>(remaining, max_hold);
}

// A client's `done` as the service API's.
Done ClientDone(clients::Done<v1::PaymentResult> done) {
  return [done = std::move(done)](Result<v1::PaymentResult> result) {
    if (result.ok()) {
      done(Status(), std::move(result).value());
    } else {
      done(result.status(), v1::PaymentResult());
    }
  };
}

}  // namespace

PaymentShard::PaymentShard(runtime::Shard& shard, const PaymentServiceOptions& options)
    : shard(shard),
      processor(options.slow_delay),
      ids(std::random_device{}() ^ (uint64_t{shard.id()} << 32)) {}

void PaymentService::StartShard(runtime::Shard& shard) {
  shards_.Emplace(shard, std::make_unique<PaymentShard>(shard, options_));
}

NewTransactionId PaymentService::IdsOf(PaymentShard& owner) {
  return [this, &owner] {
    return owner.ids.Next([this, &owner](const std::string& id) {
      return OwnerOf(id) == owner.shard.id() && !owner.ledger.HasTransactionId(id);
    });
  };
}

// ---- On the home shard.

uint64_t PaymentService::ProcessPayment(const v1::ProcessPaymentRequest& request,
                                        SystemClock::time_point deadline, Done done) {
  PaymentAttempt attempt;
  if (Status status = ValidateProcessRequest(request, &attempt); !status.ok()) {
    done(std::move(status));
    return 0;
  }
  PaymentShard& home = shards_.local();
  runtime::ShardId owner = OwnerOf(attempt.idempotency_key);
  ProcessorAnswer::When when = home.processor.Answer(attempt.token).when;
  if (when == ProcessorAnswer::When::kNow) {
    // Never waits: a payment in flight has a token the processor answers later, so a duplicate
    // with this token is a mismatch. One hop there and back, no ticket.
    shards_.InvokeOn(
        owner,
        [this, attempt = std::move(attempt)](PaymentShard& there) mutable {
          return Begin(there, std::move(attempt), Waiter{});
        },
        [done = std::move(done)](Result<Begun> begun) {
          if (!begun.ok()) {
            done(begun.status());
          } else {
            done(std::move(begun->result));
          }
        });
    return 0;
  }
  bool held = when == ProcessorAnswer::When::kNever;
  if (held && home.shard.draining()) {  // it would only be ended by the drain
    done(Status(StatusCode::kUnavailable, "server is shutting down"));
    return 0;
  }
  uint64_t ticket = home.next_ticket++;
  // Registered before the hop, so a cancel or drain that comes first still finds the call.
  home.waiting.emplace(ticket, PaymentShard::WaitingCall{.done = std::move(done),
                                                         .owner = owner,
                                                         .idempotency_key = attempt.idempotency_key,
                                                         .held = held});
  runtime::Clock::time_point hold_until = HoldUntil(deadline, options_.max_hold);
  shards_.InvokeOn(
      owner,
      [this, attempt = std::move(attempt), waiter = Waiter{home.shard.id(), ticket}](
          PaymentShard& there) mutable { return Begin(there, std::move(attempt), waiter); },
      [this, ticket, hold_until](Result<Begun> begun) {
        if (!begun.ok()) {
          Answer(shards_.local(), ticket, begun.status());
        } else if (begun->kind == Begun::kAnswer) {
          Answer(shards_.local(), ticket, std::move(begun->result));
        } else {
          StartDeadline(ticket, hold_until);
        }
      });
  return shards_.local().waiting.contains(ticket) ? ticket : 0;
}

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
  if (call.owner == home.shard.id()) {
    home.ledger.DropWaiter(call.idempotency_key, waiter);
  } else {
    // After the Begin this shard sent there (one mailbox, in order), so the waiter is known.
    shards_.RunOn(call.owner, [key = std::move(call.idempotency_key), waiter](PaymentShard& owner) {
      owner.ledger.DropWaiter(key, waiter);
    });
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

void PaymentService::RefundPayment(const v1::RefundPaymentRequest& request, Done done) {
  if (Status status = ValidateTransactionId(request.transaction_id(), "transaction_id");
      !status.ok()) {
    done(std::move(status));
    return;
  }
  shards_.InvokeOn(
      OwnerOf(request.transaction_id()),
      [id = request.transaction_id()](PaymentShard& owner) {
        return owner.ledger.Refund(id, Now());
      },
      std::move(done));
}

void PaymentService::GetPayment(const v1::GetPaymentRequest& request, Done done) {
  Result<PaymentLookup> lookup = ValidateGetRequest(request);
  if (!lookup.ok()) {
    done(lookup.status());
    return;
  }
  if (!lookup->idempotency_key.empty()) {
    std::string key = lookup->idempotency_key;
    Lookup(
        OwnerOf(key), [key](PaymentLedger& ledger) { return ledger.FindByKey(key); },
        "no payment recorded for idempotency_key \"" + key + "\"", std::move(done));
    return;
  }
  std::string id = lookup->transaction_id;
  Lookup(
      OwnerOf(id), [id](PaymentLedger& ledger) { return ledger.FindById(id); },
      "transaction_id \"" + id + "\" not found", std::move(done));
}

void PaymentService::Lookup(runtime::ShardId owner,
                            std::function<const v1::PaymentResult*(PaymentLedger&)> find,
                            std::string not_found, Done done) {
  shards_.InvokeOn(
      owner,
      [find = std::move(find),
       not_found = std::move(not_found)](PaymentShard& there) -> Result<v1::PaymentResult> {
        const v1::PaymentResult* found = find(there.ledger);
        if (found == nullptr) return {StatusCode::kNotFound, not_found};
        return *found;
      },
      std::move(done));
}

void PaymentService::VoidPayment(const v1::VoidPaymentRequest& request, Done done) {
  if (Status status = ValidateVoidRequest(request); !status.ok()) {
    done(std::move(status));
    return;
  }
  shards_.InvokeOn(
      OwnerOf(request.idempotency_key()),
      [key = request.idempotency_key()](PaymentShard& owner) -> Result<v1::PaymentResult> {
        return owner.ledger.Void(key, Now());
      },
      std::move(done));
}

// ---- On the owner of the idempotency key.

Result<Begun> PaymentService::Begin(PaymentShard& owner, PaymentAttempt attempt,
                                    const Waiter& waiter) {
  std::string key = attempt.idempotency_key;
  ProcessorAnswer answer = owner.processor.Answer(attempt.token);
  Result<Begun> begun = owner.ledger.Begin(std::move(attempt), answer, waiter, IdsOf(owner), Now());
  if (begun.ok() && begun->kind == Begun::kStarted &&
      answer.when == ProcessorAnswer::When::kAfterDelay) {
    owner.shard.RunAfter(answer.delay, [this, &owner, key] { ProcessorAnswered(owner, key); });
  }
  return begun;
}

void PaymentService::ProcessorAnswered(PaymentShard& owner, const std::string& idempotency_key) {
  std::optional<Answered> answered =
      owner.ledger.ProcessorAnswered(idempotency_key, IdsOf(owner), Now());
  if (!answered) return;
  for (const Waiter& waiter : answered->waiters) SendAnswer(waiter, answered->result);
}

void PaymentService::SendAnswer(const Waiter& waiter, const Result<v1::PaymentResult>& answer) {
  PaymentShard& here = shards_.local();
  if (waiter.home == here.shard.id()) {
    Answer(here, waiter.ticket, answer);
    return;
  }
  shards_.RunOn(waiter.home, [this, ticket = waiter.ticket, answer](PaymentShard& home) mutable {
    Answer(home, ticket, std::move(answer));
  });
}

// ---- clients::PaymentClient.

void PaymentService::ProcessPayment(v1::ProcessPaymentRequest request,
                                    const clients::CallOptions& options,
                                    clients::Done<v1::PaymentResult> done) {
  ProcessPayment(request, options.deadline, ClientDone(std::move(done)));
}

void PaymentService::RefundPayment(v1::RefundPaymentRequest request,
                                   const clients::CallOptions& /*options*/,
                                   clients::Done<v1::PaymentResult> done) {
  RefundPayment(request, ClientDone(std::move(done)));
}

void PaymentService::VoidPayment(v1::VoidPaymentRequest request,
                                 const clients::CallOptions& /*options*/,
                                 clients::Done<v1::PaymentResult> done) {
  VoidPayment(request, ClientDone(std::move(done)));
}

}  // namespace percore::payment
