// Fuzz target: every method of payment.v1.PaymentService, from request bytes to the shard's
// ledger.
//
// A session of calls (session.proto) runs against one fresh PaymentLedger, as on a one-shard
// server: each request is decoded and validated by the functions the service API uses
// (payment_validation.h), and applied with the ledger's ops and the processor simulator's answers.
// Time is the calls: a payment the processor answers later (tok_slow) is answered before the next
// call; one it never answers (tok_timeout) loses its only waiter at once (the caller's deadline),
// and is forgotten. New transactions get the ids txn_00000000000000NN (hex, in order). Checked: a
// retry with the same key and request gets the recorded result, one charge per key, refunds only of
// approved payments and idempotent, and the ledger's charge and refund counts match its records.

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

// The next transaction id, "txn_" and the count in hex (one shard: every id lands here).
NewTransactionId NextId(Shard& shard) {
  return [&shard] {
    char id[32];
    std::snprintf(id, sizeof(id), "txn_%016zx", shard.ids.size());
    FUZZ_CHECK(IsWellFormedTransactionId(id) && !shard.ledger.HasTransactionId(id));
    shard.ids.push_back(id);
    return std::string(id);
  };
}

void Process(Shard& shard, const std::string& bytes) {
  v1::ProcessPaymentRequest request;
  PaymentAttempt attempt;
  if (!DecodeRequest(bytes, &request) || !ValidateProcessRequest(request, &attempt).ok()) return;
  FUZZ_CHECK(attempt.amount_minor > 0 && attempt.currency.size() == 3);
  FUZZ_CHECK(!attempt.idempotency_key.empty() && attempt.idempotency_key.size() <= 128);
  std::string key = attempt.idempotency_key;
  const PaymentAttempt* first = shard.ledger.AttemptOfKey(key);
  bool repeats = first != nullptr && DifferingFields(*first, attempt).empty();
  bool recorded = first != nullptr;
  bool voided = shard.ledger.IsVoided(key);
  FUZZ_CHECK(shard.ledger.FindInFlight(key) == nullptr);  // none outlives a call
  size_t ids_before = shard.ids.size();
  ProcessorAnswer answer = shard.processor.Answer(attempt.token);
  Result<Begun> begun =
      shard.ledger.Begin(std::move(attempt), answer, Waiter{0, 1}, NextId(shard), shard.now);
  if (recorded) {
    // A retry: the recorded result when it repeats the request, FAILED_PRECONDITION otherwise.
    FUZZ_CHECK(begun.ok() == repeats);
    FUZZ_CHECK(shard.ids.size() == ids_before);  // nothing new is charged
    if (begun.ok()) FUZZ_CHECK(begun->kind == Begun::kAnswer);
    return;
  }
  if (voided) {  // refused: nothing is charged
    FUZZ_CHECK(begun.code() == StatusCode::kFailedPrecondition);
    return;
  }
  FUZZ_CHECK(begun.ok());
  switch (answer.when) {
    case ProcessorAnswer::When::kNow:
      FUZZ_CHECK(begun->kind == Begun::kAnswer);
      FUZZ_CHECK(shard.ledger.FindByKey(key) != nullptr &&
                 shard.ledger.FindByKey(key)->transaction_id() == shard.ids.back());
      return;
    case ProcessorAnswer::When::kAfterDelay:
      FUZZ_CHECK(begun->kind == Begun::kStarted);
      shard.answered_later.push_back(key);
      return;
    case ProcessorAnswer::When::kNever:
      FUZZ_CHECK(begun->kind == Begun::kStarted);
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
  Result<PaymentLookup> lookup = ValidateGetRequest(request);
  if (!lookup.ok()) return;  // INVALID_ARGUMENT
  FUZZ_CHECK(lookup->idempotency_key.empty() != lookup->transaction_id.empty());
  if (!lookup->idempotency_key.empty()) {
    if (const v1::PaymentResult* found = shard.ledger.FindByKey(lookup->idempotency_key)) {
      FUZZ_CHECK(found->idempotency_key() == request.idempotency_key());
    }
    return;
  }
  if (const v1::PaymentResult* found = shard.ledger.FindById(lookup->transaction_id)) {
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
    bool void_on_answer = shard.ledger.FindInFlight(key)->void_on_answer;
    std::optional<Answered> answered =
        shard.ledger.ProcessorAnswered(key, NextId(shard), shard.now);
    FUZZ_CHECK(answered.has_value());
    FUZZ_CHECK(answered->waiters.size() == 1);
    FUZZ_CHECK(answered->result.transaction_id() == shard.ids.back());
    // Voided meanwhile: no charge stands.
    if (void_on_answer) {
      FUZZ_CHECK(answered->result.status() != v1::PaymentResult::PAYMENT_STATUS_APPROVED);
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
