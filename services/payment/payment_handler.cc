#include "services/payment/payment_handler.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/runtime/shard_for.h"
#include "services/payment/payment_validation.h"

namespace percore::payment {
namespace {
using SystemClock = std::chrono::system_clock;

google::protobuf::Timestamp Now() {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(SystemClock::now().time_since_epoch())
          .count());
}

// The handler of the shard this code runs on (inside a hop's work).
PaymentHandler& Here(PaymentHandler::Def* def) { return def->local(*runtime::Shard::Current()); }

std::string Describe(const PaymentAttempt& attempt) {
  return "order_id \"" + attempt.order_id + "\", amount " + std::to_string(attempt.amount_minor) +
         " " + attempt.currency + ", method " + std::string(TestTokenName(attempt.token));
}

// FAILED_PRECONDITION naming the fields a retry changed, or OK if it repeats `first`.
Status CheckRetry(const PaymentAttempt& first, const PaymentAttempt& retry) {
  std::vector<std::string> fields = DifferingFields(first, retry);
  if (fields.empty()) return Status();
  std::string names;
  for (const std::string& field : fields) names += (names.empty() ? "" : ", ") + field;
  return Status(StatusCode::kFailedPrecondition, "idempotency_key \"" + retry.idempotency_key +
                                                     "\" was first used with a different " + names +
                                                     " (first: " + Describe(first) +
                                                     "; this request: " + Describe(retry) + ")");
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

template <class Req>
PaymentHandler::Done FinishCall(rpc::UnaryCall<Req, v1::PaymentResult> call) {
  return [call = std::move(call)](const Status& status, v1::PaymentResult result) {
    if (status.ok()) {
      call.Finish(result);
    } else {
      call.Finish(status);
    }
  };
}

}  // namespace

PaymentHandler::PaymentHandler(runtime::Shard& shard, Def* def, PaymentServiceOptions options)
    : shard_(shard),
      runtime_(shard.runtime()),
      def_(def),
      options_(options),
      processor_(options.slow_delay),
      ids_(std::random_device{}() ^ (uint64_t{shard.id()} << 32)) {}

runtime::ShardId PaymentHandler::OwnerOf(std::string_view key) const {
  return runtime::ShardFor(key, runtime_.size());
}

// ---- RPC methods: parse (done by the framework), the core, finish from `done`.

void PaymentHandler::ProcessPayment(
    rpc::UnaryCall<v1::ProcessPaymentRequest, v1::PaymentResult> call) {
  uint64_t ticket = Process(call.request(), call.deadline(), FinishCall(call));
  if (ticket == 0) return;
  // The client went away while its call waited: drop the wait (and a held payment with it).
  // gRPC may report the cancel before the call reached us (then OnCancel would never run).
  if (call.cancelled()) {
    Abandon(ticket, Status(StatusCode::kCancelled, ""));
    return;
  }
  call.OnCancel([this, ticket] { Abandon(ticket, Status(StatusCode::kCancelled, "")); });
}

void PaymentHandler::RefundPayment(
    rpc::UnaryCall<v1::RefundPaymentRequest, v1::PaymentResult> call) {
  Refund(call.request(), FinishCall(call));
}

void PaymentHandler::GetPayment(rpc::UnaryCall<v1::GetPaymentRequest, v1::PaymentResult> call) {
  Get(call.request(), FinishCall(call));
}

void PaymentHandler::VoidPayment(rpc::UnaryCall<v1::VoidPaymentRequest, v1::PaymentResult> call) {
  Void(call.request(), FinishCall(call));
}

void PaymentHandler::OnDrain() {
  std::vector<uint64_t> held;
  for (const auto& [ticket, call] : waiting_) {
    if (call.held) held.push_back(ticket);
  }
  for (uint64_t ticket : held) {
    Abandon(ticket, Status(StatusCode::kUnavailable,
                           "server is shutting down; the payment processor had not answered, "
                           "nothing was charged"));
  }
}

// ---- The core, on the home shard.

uint64_t PaymentHandler::Process(const v1::ProcessPaymentRequest& request,
                                 SystemClock::time_point deadline, Done done) {
  PaymentAttempt attempt;
  if (Status status = ValidateProcessRequest(request, &attempt); !status.ok()) {
    done(status, v1::PaymentResult());
    return 0;
  }
  runtime::ShardId owner = OwnerOf(attempt.idempotency_key);
  ProcessorAnswer::When when = processor_.Answer(attempt.token).when;
  if (when == ProcessorAnswer::When::kNow) {
    // Never waits: a payment in flight has a token the processor answers later, so a duplicate
    // with this token is a mismatch. One hop there and back, no ticket.
    runtime_.Hop(
        owner,
        [def = def_, attempt = std::move(attempt)]() mutable {
          return Here(def).Begin(std::move(attempt), Waiter{});
        },
        [done = std::move(done)](Begun begun) { done(begun.status, std::move(begun.result)); });
    return 0;
  }
  bool held = when == ProcessorAnswer::When::kNever;
  if (held && shard_.draining()) {  // it would only be ended by the drain
    done(Status(StatusCode::kUnavailable, "server is shutting down"), v1::PaymentResult());
    return 0;
  }
  uint64_t ticket = next_ticket_++;
  // Registered before the hop, so a cancel or drain that comes first still finds the call.
  waiting_.emplace(ticket, WaitingCall{.done = std::move(done),
                                       .owner = owner,
                                       .idempotency_key = attempt.idempotency_key,
                                       .held = held});
  runtime::Clock::time_point hold_until = HoldUntil(deadline, options_.max_hold);
  runtime_.Hop(
      owner,
      [def = def_, attempt = std::move(attempt), waiter = Waiter{shard_.id(), ticket}]() mutable {
        return Here(def).Begin(std::move(attempt), waiter);
      },
      [this, ticket, hold_until](Begun begun) {
        if (!begun.waiting) {
          Answer(ticket, begun.status, std::move(begun.result));
          return;
        }
        auto it = waiting_.find(ticket);
        if (it == waiting_.end()) return;  // abandoned meanwhile; the owner was told
        it->second.deadline_timer =
            shard_.RunAfter(hold_until - runtime::Clock::now(), [this, ticket] {
              auto found = waiting_.find(ticket);
              if (found == waiting_.end()) return;
              found->second.deadline_timer = 0;  // this timer has run
              Abandon(ticket,
                      Status(StatusCode::kDeadlineExceeded,
                             found->second.held
                                 ? "the payment processor did not answer by the deadline; "
                                   "nothing was charged"
                                 : "the payment processor did not answer by the deadline; it may "
                                   "still approve: retry with the same idempotency_key"));
            });
      });
  return waiting_.contains(ticket) ? ticket : 0;
}

void PaymentHandler::Answer(uint64_t ticket, const Status& status, v1::PaymentResult result) {
  auto it = waiting_.find(ticket);
  if (it == waiting_.end()) return;  // abandoned: its caller already has an answer
  if (it->second.deadline_timer != 0) shard_.CancelTimer(it->second.deadline_timer);
  Done done = std::move(it->second.done);
  waiting_.erase(it);
  done(status, std::move(result));
}

void PaymentHandler::Abandon(uint64_t ticket, const Status& status) {
  auto it = waiting_.find(ticket);
  if (it == waiting_.end()) return;
  WaitingCall call = std::move(it->second);
  waiting_.erase(it);
  if (call.deadline_timer != 0) shard_.CancelTimer(call.deadline_timer);
  Waiter waiter{shard_.id(), ticket};
  if (call.owner == shard_.id()) {
    ledger_.DropWaiter(call.idempotency_key, waiter);
  } else {
    // After the Begin this shard sent there (one mailbox, in order), so the waiter is known.
    runtime_.SubmitTo(call.owner, [def = def_, key = std::move(call.idempotency_key), waiter] {
      Here(def).ledger_.DropWaiter(key, waiter);
    });
  }
  call.done(status, v1::PaymentResult());
}

void PaymentHandler::Refund(const v1::RefundPaymentRequest& request, Done done) {
  if (Status status = ValidateTransactionId(request.transaction_id(), "transaction_id");
      !status.ok()) {
    done(status, v1::PaymentResult());
    return;
  }
  runtime_.Hop(
      OwnerOf(request.transaction_id()),
      [def = def_, id = request.transaction_id()] { return Here(def).ledger_.Refund(id, Now()); },
      [done = std::move(done)](Result<v1::PaymentResult> refunded) {
        if (!refunded.ok()) {
          done(refunded.status(), v1::PaymentResult());
        } else {
          done(Status(), std::move(refunded).value());
        }
      });
}

void PaymentHandler::Get(const v1::GetPaymentRequest& request, Done done) {
  if (request.transaction_id().empty() && !request.idempotency_key().empty()) {
    GetByKey(request.idempotency_key(), std::move(done));
    return;
  }
  const std::string& id = request.transaction_id();
  if (Status status = ValidateTransactionId(id, "transaction_id"); !status.ok()) {
    done(status, v1::PaymentResult());
    return;
  }
  runtime_.Hop(
      OwnerOf(id),
      [def = def_, id]() -> std::optional<v1::PaymentResult> {
        const v1::PaymentResult* found = Here(def).ledger_.FindById(id);
        if (found == nullptr) return std::nullopt;
        return *found;
      },
      [done = std::move(done), id](std::optional<v1::PaymentResult> found) {
        if (!found) {
          done(Status(StatusCode::kNotFound, "transaction_id \"" + id + "\" not found"),
               v1::PaymentResult());
        } else {
          done(Status(), std::move(*found));
        }
      });
}

void PaymentHandler::GetByKey(const std::string& key, Done done) {
  v1::VoidPaymentRequest as_void;  // the same rule for the key as VoidPayment's
  as_void.set_idempotency_key(key);
  if (Status status = ValidateVoidRequest(as_void); !status.ok()) {
    done(status, v1::PaymentResult());
    return;
  }
  runtime_.Hop(
      OwnerOf(key),
      [def = def_, key]() -> std::optional<v1::PaymentResult> {
        const v1::PaymentResult* found = Here(def).ledger_.FindByKey(key);
        if (found == nullptr) return std::nullopt;
        return *found;
      },
      [done = std::move(done), key](std::optional<v1::PaymentResult> found) {
        if (!found) {
          done(Status(StatusCode::kNotFound,
                      "no payment recorded for idempotency_key \"" + key + "\""),
               v1::PaymentResult());
        } else {
          done(Status(), std::move(*found));
        }
      });
}

void PaymentHandler::Void(const v1::VoidPaymentRequest& request, Done done) {
  if (Status status = ValidateVoidRequest(request); !status.ok()) {
    done(status, v1::PaymentResult());
    return;
  }
  runtime_.Hop(
      OwnerOf(request.idempotency_key()),
      [def = def_, key = request.idempotency_key()] { return Here(def).VoidKey(key); },
      [done = std::move(done)](Begun voided) { done(voided.status, std::move(voided.result)); });
}

// ---- The owner of the idempotency key.

PaymentHandler::Begun PaymentHandler::VoidKey(const std::string& idempotency_key) {
  Begun voided;
  voided.result = ledger_.Void(idempotency_key, Now());
  return voided;
}

PaymentHandler::Begun PaymentHandler::Begin(PaymentAttempt attempt, Waiter waiter) {
  Begun begun;
  if (const PaymentAttempt* first = ledger_.AttemptOfKey(attempt.idempotency_key)) {
    begun.status = CheckRetry(*first, attempt);
    if (begun.status.ok()) begun.result = *ledger_.FindByKey(attempt.idempotency_key);
    return begun;
  }
  if (ledger_.IsVoided(attempt.idempotency_key)) {
    begun.status = Status(StatusCode::kFailedPrecondition,
                          "idempotency_key \"" + attempt.idempotency_key +
                              "\" was voided (VoidPayment) before any charge; nothing is charged "
                              "for it, use a new key to pay");
    return begun;
  }
  if (InFlightPayment* in_flight = ledger_.FindInFlight(attempt.idempotency_key)) {
    begun.status = CheckRetry(in_flight->attempt, attempt);
    if (begun.status.ok()) {  // a duplicate while the processor works: share its answer
      in_flight->waiters.push_back(waiter);
      begun.waiting = true;
    }
    return begun;
  }
  ProcessorAnswer answer = processor_.Answer(attempt.token);
  switch (answer.when) {
    case ProcessorAnswer::When::kNow:
      begun.result = RecordAnswer(std::move(attempt), answer);
      return begun;
    case ProcessorAnswer::When::kAfterDelay:
      shard_.RunAfter(answer.delay,
                      [this, key = attempt.idempotency_key] { ProcessorAnswered(key); });
      break;
    case ProcessorAnswer::When::kNever:
      break;
  }
  ledger_.StartInFlight(std::move(attempt), std::move(answer)).waiters.push_back(waiter);
  begun.waiting = true;
  return begun;
}

void PaymentHandler::ProcessorAnswered(const std::string& idempotency_key) {
  std::optional<InFlightPayment> payment = ledger_.TakeInFlight(idempotency_key);
  if (!payment) return;
  // A copy: answering may run callers' code that changes the ledger.
  v1::PaymentResult result = RecordAnswer(std::move(payment->attempt), payment->answer);
  if (payment->void_on_answer && result.status() == v1::PaymentResult::PAYMENT_STATUS_APPROVED) {
    Result<v1::PaymentResult> refunded = ledger_.Refund(result.transaction_id(), Now());
    if (refunded.ok()) result = std::move(refunded).value();
  }
  for (const Waiter& waiter : payment->waiters) SendAnswer(waiter, Status(), result);
}

const v1::PaymentResult& PaymentHandler::RecordAnswer(PaymentAttempt attempt,
                                                      const ProcessorAnswer& answer) {
  v1::PaymentResult result;
  result.set_status(answer.approved ? v1::PaymentResult::PAYMENT_STATUS_APPROVED
                                    : v1::PaymentResult::PAYMENT_STATUS_DECLINED);
  result.set_transaction_id(ids_.Next([this](const std::string& id) {
    return OwnerOf(id) == shard_.id() && !ledger_.HasTransactionId(id);
  }));
  result.set_order_id(attempt.order_id);
  result.mutable_amount()->set_amount_minor(attempt.amount_minor);
  result.mutable_amount()->set_currency(attempt.currency);
  if (!answer.approved) result.set_decline_reason(answer.decline_reason);
  result.set_idempotency_key(attempt.idempotency_key);
  *result.mutable_processed_at() = Now();
  return ledger_.Record(std::move(attempt), std::move(result));
}

void PaymentHandler::SendAnswer(const Waiter& waiter, const Status& status,
                                v1::PaymentResult result) {
  if (waiter.home == shard_.id()) {
    Answer(waiter.ticket, status, std::move(result));
    return;
  }
  runtime_.SubmitTo(waiter.home, [def = def_, ticket = waiter.ticket, status,
                                  result = std::move(result)]() mutable {
    Here(def).Answer(ticket, status, std::move(result));
  });
}

std::shared_ptr<PaymentHandler::Def> MakePaymentService(PaymentServiceOptions options) {
  auto def = std::make_shared<PaymentHandler::Def>(
      rpc::FindServiceDescriptor("payment.v1.PaymentService"), nullptr);
  PaymentHandler::Def* raw = def.get();  // the def outlives every handler it makes
  def->set_factory([raw, options](runtime::Shard& shard) {
    return std::make_unique<PaymentHandler>(shard, raw, options);
  });
  def->Unary("ProcessPayment", &PaymentHandler::ProcessPayment);
  def->Unary("RefundPayment", &PaymentHandler::RefundPayment);
  def->Unary("GetPayment", &PaymentHandler::GetPayment);
  def->Unary("VoidPayment", &PaymentHandler::VoidPayment);
  return def;
}

}  // namespace percore::payment
