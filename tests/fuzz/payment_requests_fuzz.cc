// Fuzz target: every method of payment.v1.PaymentService, from request bytes to the shard's
// ledger.
//
// A session of calls (session.proto) runs against one fresh PaymentLedger, as on a one-shard
// server: each request is decoded and validated by the functions PaymentHandler uses, and
// applied with the ledger's ops and the processor simulator's answers. Time is the calls: a
// payment the processor answers later (tok_slow) is answered before the next call; one it never
// answers (tok_timeout) loses its only waiter at once (the caller's deadline), and is forgotten.
// New transactions get the ids txn_00000000000000NN (hex, in order). Checked: a retry with the
// same key and request gets the recorded result, one charge per key, refunds only of approved
// payments and idempotent, and the ledger's charge and refund counts match its records.

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "payment/v1/payment.pb.h"
#include "services/payment/payment_attempt.h"
#include "services/payment/payment_ledger.h"
#include "services/payment/payment_validation.h"
#include "services/payment/processor_simulator.h"
#include "services/payment/transaction_id.h"
#include "tests/fuzz/fuzz_support.h"

namespace percore::payment {
namespace {

using fuzz::DecodeRequest;

struct Shard {
  PaymentLedger ledger;
  ProcessorSimulator processor{std::chrono::milliseconds(200)};
  std::vector<std::string> ids;             // transaction ids recorded, in order
  std::vector<std::string> answered_later;  // keys the processor answers before the next call
  google::protobuf::Timestamp now;
};

void RecordAnswer(Shard& shard, PaymentAttempt attempt, const ProcessorAnswer& answer) {
  char id[32];
  std::snprintf(id, sizeof(id), "txn_%016zx", shard.ids.size());
  FUZZ_CHECK(IsWellFormedTransactionId(id) && !shard.ledger.HasTransactionId(id));
  v1::PaymentResult result;  // as PaymentHandler::RecordAnswer
  result.set_status(answer.approved ? v1::PaymentResult::PAYMENT_STATUS_APPROVED
                                    : v1::PaymentResult::PAYMENT_STATUS_DECLINED);
  result.set_transaction_id(id);
  result.set_order_id(attempt.order_id);
  result.mutable_amount()->set_amount_minor(attempt.amount_minor);
  result.mutable_amount()->set_currency(attempt.currency);
  if (!answer.approved) result.set_decline_reason(answer.decline_reason);
  result.set_idempotency_key(attempt.idempotency_key);
  std::string key = attempt.idempotency_key;
  const v1::PaymentResult& stored = shard.ledger.Record(std::move(attempt), result);
  FUZZ_CHECK(stored.transaction_id() == id);
  FUZZ_CHECK(shard.ledger.FindByKey(key) != nullptr &&
             shard.ledger.FindByKey(key)->transaction_id() == id);
  shard.ids.push_back(id);
}

void Process(Shard& shard, const std::string& bytes) {
  v1::ProcessPaymentRequest request;
  PaymentAttempt attempt;
  if (!DecodeRequest(bytes, &request) || !ValidateProcessRequest(request, &attempt).ok()) return;
  FUZZ_CHECK(attempt.amount_minor > 0 && attempt.currency.size() == 3);
  FUZZ_CHECK(!attempt.idempotency_key.empty() && attempt.idempotency_key.size() <= 128);
  if (const PaymentAttempt* first = shard.ledger.AttemptOfKey(attempt.idempotency_key)) {
    // A retry: the recorded result when it repeats the request, FAILED_PRECONDITION otherwise.
    if (DifferingFields(*first, attempt).empty()) {
      FUZZ_CHECK(shard.ledger.FindByKey(attempt.idempotency_key) != nullptr);
    }
    FUZZ_CHECK(DifferingFields(*first, *first).empty());
    return;
  }
  if (shard.ledger.IsVoided(attempt.idempotency_key)) return;  // refused: nothing is charged
  FUZZ_CHECK(shard.ledger.FindInFlight(attempt.idempotency_key) ==
             nullptr);  // none outlives a call
  ProcessorAnswer answer = shard.processor.Answer(attempt.token);
  std::string key = attempt.idempotency_key;
  switch (answer.when) {
    case ProcessorAnswer::When::kNow:
      RecordAnswer(shard, std::move(attempt), answer);
      return;
    case ProcessorAnswer::When::kAfterDelay:
      shard.ledger.StartInFlight(std::move(attempt), answer).waiters.push_back(Waiter{0, 1});
      shard.answered_later.push_back(key);
      return;
    case ProcessorAnswer::When::kNever:
      shard.ledger.StartInFlight(std::move(attempt), answer).waiters.push_back(Waiter{0, 1});
      shard.ledger.DropWaiter(key, Waiter{0, 1});  // the caller's deadline: nothing charged
      FUZZ_CHECK(shard.ledger.FindInFlight(key) == nullptr);
      return;
  }
}

void Refund(Shard& shard, const std::string& bytes) {
  v1::RefundPaymentRequest request;
  if (!DecodeRequest(bytes, &request) ||
      !ValidateTransactionId(request.transaction_id(), "transaction_id").ok()) {
    return;
  }
  const v1::PaymentResult* before = shard.ledger.FindById(request.transaction_id());
  std::optional<v1::PaymentResult::PaymentStatus> was;
  if (before) was = before->status();
  Result<v1::PaymentResult> refunded = shard.ledger.Refund(request.transaction_id(), shard.now);
  FUZZ_CHECK(refunded.ok() == (was == v1::PaymentResult::PAYMENT_STATUS_APPROVED ||
                               was == v1::PaymentResult::PAYMENT_STATUS_REFUNDED));
  if (refunded.ok()) {
    FUZZ_CHECK(refunded.value().status() == v1::PaymentResult::PAYMENT_STATUS_REFUNDED);
  }
}

void Get(Shard& shard, const std::string& bytes) {
  v1::GetPaymentRequest request;
  if (!DecodeRequest(bytes, &request)) return;
  if (request.transaction_id().empty() && !request.idempotency_key().empty()) {
    v1::VoidPaymentRequest as_void;  // the handler checks the key with VoidPayment's rule
    as_void.set_idempotency_key(request.idempotency_key());
    if (!ValidateVoidRequest(as_void).ok()) return;
    if (const v1::PaymentResult* found = shard.ledger.FindByKey(request.idempotency_key())) {
      FUZZ_CHECK(found->idempotency_key() == request.idempotency_key());
    }
    return;
  }
  if (!ValidateTransactionId(request.transaction_id(), "transaction_id").ok()) {
    return;
  }
  if (const v1::PaymentResult* found = shard.ledger.FindById(request.transaction_id())) {
    FUZZ_CHECK(found->transaction_id() == request.transaction_id());
  }
}

void Void(Shard& shard, const std::string& bytes) {
  v1::VoidPaymentRequest request;
  if (!DecodeRequest(bytes, &request) || !ValidateVoidRequest(request).ok()) return;
  const std::string& key = request.idempotency_key();
  v1::PaymentResult voided = shard.ledger.Void(key, shard.now);
  FUZZ_CHECK(voided.status() != v1::PaymentResult::PAYMENT_STATUS_APPROVED);
  const v1::PaymentResult* recorded = shard.ledger.FindByKey(key);
  if (recorded != nullptr) {  // no charge stands: refunded, or declined
    FUZZ_CHECK(recorded->status() == voided.status());
    FUZZ_CHECK(recorded->status() != v1::PaymentResult::PAYMENT_STATUS_APPROVED);
  } else {
    FUZZ_CHECK(voided.status() == v1::PaymentResult::PAYMENT_STATUS_VOIDED);
    const InFlightPayment* in_flight = shard.ledger.FindInFlight(key);
    FUZZ_CHECK(shard.ledger.IsVoided(key) || (in_flight != nullptr && in_flight->void_on_answer));
  }
}

// The processor answers every tok_slow payment made since the last call.
void ProcessorAnswers(Shard& shard) {
  for (const std::string& key : shard.answered_later) {
    std::optional<InFlightPayment> payment = shard.ledger.TakeInFlight(key);
    FUZZ_CHECK(payment.has_value());
    RecordAnswer(shard, std::move(payment->attempt), payment->answer);
    if (payment->void_on_answer && payment->answer.approved) {  // as PaymentHandler does
      FUZZ_CHECK(shard.ledger.Refund(shard.ids.back(), shard.now).ok());
    }
  }
  shard.answered_later.clear();
}

void CheckCounts(Shard& shard) {
  uint64_t approved = 0, refunded = 0;
  for (const std::string& id : shard.ids) {
    const v1::PaymentResult* result = shard.ledger.FindById(id);
    FUZZ_CHECK(result != nullptr);
    approved += result->status() != v1::PaymentResult::PAYMENT_STATUS_DECLINED;
    refunded += result->status() == v1::PaymentResult::PAYMENT_STATUS_REFUNDED;
  }
  FUZZ_CHECK(shard.ledger.size() == shard.ids.size());
  FUZZ_CHECK(shard.ledger.charges() == approved);
  FUZZ_CHECK(shard.ledger.refunds() == refunded);
}

const fuzz::Method<Shard> kMethods[] = {
    {"ProcessPayment", Process},
    {"RefundPayment", Refund},
    {"GetPayment", Get},
    {"VoidPayment", Void},
};

}  // namespace
}  // namespace percore::payment

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  percore::fuzz::InitializeSessionTarget("payment.v1.PaymentService", percore::payment::kMethods);
  return 0;
}

// The processor answers after each call, so the last call's tok_slow payment is answered too
// before the counts are checked.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace percore::payment;
  return percore::fuzz::RunSession(data, size, kMethods,
                                   {.after_call = ProcessorAnswers, .at_end = CheckCounts});
}
