// PaymentLedger's ProcessPayment ops: Begin, RecordAnswer, ProcessorAnswered (the rest of the
// ledger is in payment_ledger.cc).

#include <string>
#include <utility>
#include <vector>

#include "services/payment/payment_ledger.h"

namespace percore::payment {
namespace {

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

}  // namespace

Result<Begun> PaymentLedger::Begin(PaymentAttempt&& attempt, const ProcessorAnswer& answer,
                                   const Waiter& waiter, const NewTransactionId& new_id,
                                   const google::protobuf::Timestamp& now) {
  Begun begun;
  if (const PaymentAttempt* first = AttemptOfKey(attempt.idempotency_key)) {
    if (Status status = CheckRetry(*first, attempt); !status.ok()) return status;
    begun.result = *FindByKey(attempt.idempotency_key);
    return begun;
  }
  if (IsVoided(attempt.idempotency_key)) {
    return {StatusCode::kFailedPrecondition,
            "idempotency_key \"" + attempt.idempotency_key +
                "\" was voided (VoidPayment) before any charge; nothing is charged for it, use a "
                "new key to pay"};
  }
  if (InFlightPayment* in_flight = FindInFlight(attempt.idempotency_key)) {
    if (Status status = CheckRetry(in_flight->attempt, attempt); !status.ok()) return status;
    in_flight->waiters.push_back(waiter);  // a duplicate while the processor works: share it
    begun.kind = Begun::kWait;
    return begun;
  }
  if (answer.when == ProcessorAnswer::When::kNow) {
    begun.result = RecordAnswer(std::move(attempt), answer, new_id(), now);
    return begun;
  }
  StartInFlight(std::move(attempt), answer).waiters.push_back(waiter);
  begun.kind = Begun::kStarted;
  begun.answer = answer;
  return begun;
}

const v1::PaymentResult& PaymentLedger::RecordAnswer(PaymentAttempt&& attempt,
                                                     const ProcessorAnswer& answer, std::string id,
                                                     const google::protobuf::Timestamp& now) {
  v1::PaymentResult result;
  result.set_status(answer.approved ? v1::PaymentResult::PAYMENT_STATUS_APPROVED
                                    : v1::PaymentResult::PAYMENT_STATUS_DECLINED);
  result.set_transaction_id(std::move(id));
  result.set_order_id(attempt.order_id);
  result.mutable_amount()->set_amount_minor(attempt.amount_minor);
  result.mutable_amount()->set_currency(attempt.currency);
  if (!answer.approved) result.set_decline_reason(answer.decline_reason);
  result.set_idempotency_key(attempt.idempotency_key);
  *result.mutable_processed_at() = now;
  return Record(std::move(attempt), std::move(result));
}

std::optional<Answered> PaymentLedger::ProcessorAnswered(std::string_view idempotency_key,
                                                         const NewTransactionId& new_id,
                                                         const google::protobuf::Timestamp& now) {
  std::optional<InFlightPayment> payment = TakeInFlight(idempotency_key);
  if (!payment) return std::nullopt;
  Answered answered;
  answered.result = RecordAnswer(std::move(payment->attempt), payment->answer, new_id(), now);
  if (payment->void_on_answer &&
      answered.result.status() == v1::PaymentResult::PAYMENT_STATUS_APPROVED) {
    Result<v1::PaymentResult> refunded = Refund(answered.result.transaction_id(), now);
    if (refunded.ok()) answered.result = std::move(refunded).value();
  }
  answered.waiters = std::move(payment->waiters);
  return answered;
}

}  // namespace percore::payment
