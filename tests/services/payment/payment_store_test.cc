// The payment store (PaymentLedger) and the request rules alone, without a server: the pure ops
// the service API runs on the key's shard (one charge per idempotency key, refunds, voids, the
// in-flight payments and their waiters), and the validation every caller gets.

#include <gtest/gtest.h>

#include <string>

#include "services/payment/payment_ledger.h"
#include "services/payment/payment_validation.h"
#include "services/payment/processor_simulator.h"

namespace percore::payment {
namespace {

bool Mentions(const Status& status, const std::string& text) {
  return status.message().find(text) != std::string::npos;
}

v1::ProcessPaymentRequest Request(const std::string& key, const std::string& token,
                                  int64_t amount = 1000) {
  v1::ProcessPaymentRequest request;
  request.set_order_id("order-1");
  request.mutable_amount()->set_amount_minor(amount);
  request.mutable_amount()->set_currency("EUR");
  request.mutable_method()->set_token(token);
  request.set_idempotency_key(key);
  return request;
}

PaymentAttempt Attempt(const v1::ProcessPaymentRequest& request) {
  PaymentAttempt attempt;
  Status status = ValidateProcessRequest(request, &attempt);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return attempt;
}

class PaymentStoreTest : public ::testing::Test {
 protected:
  // Ids txn_000...1, txn_000...2, ... in order.
  NewTransactionId Ids() {
    return [this] {
      char id[32];
      std::snprintf(id, sizeof(id), "txn_%016x", ++issued_);
      return std::string(id);
    };
  }
  Result<Begun> Begin(const v1::ProcessPaymentRequest& request, Waiter waiter = {0, 1}) {
    PaymentAttempt attempt = Attempt(request);
    ProcessorAnswer answer = processor_.Answer(attempt.token);
    return ledger_.Begin(std::move(attempt), answer, waiter, Ids(), now_);
  }

  PaymentLedger ledger_;
  ProcessorSimulator processor_{std::chrono::milliseconds(200)};
  google::protobuf::Timestamp now_;
  unsigned issued_ = 0;
};

TEST_F(PaymentStoreTest, AnIdempotentRetryReturnsTheSameTransactionAndChargesOnce) {
  Result<Begun> first = Begin(Request("k1", "tok_approve"));
  ASSERT_TRUE(first.ok()) << first.message();
  EXPECT_EQ(first->kind, Begun::kAnswer);
  EXPECT_EQ(first->result.status(), v1::PaymentResult::PAYMENT_STATUS_APPROVED);
  Result<Begun> retry = Begin(Request("k1", "tok_approve"));
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->result.transaction_id(), first->result.transaction_id());
  EXPECT_EQ(ledger_.charges(), 1u);
  EXPECT_EQ(issued_, 1u);
}

TEST_F(PaymentStoreTest, ARetryWithAnotherAmountIsRefusedNamingTheField) {
  ASSERT_TRUE(Begin(Request("k1", "tok_approve", 1000)).ok());
  Result<Begun> changed = Begin(Request("k1", "tok_approve", 999));
  EXPECT_EQ(changed.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Mentions(changed.status(),
                       "idempotency_key \"k1\" was first used with a different "
                       "amount"))
      << changed.message();
  EXPECT_EQ(ledger_.charges(), 1u);
}

TEST_F(PaymentStoreTest, ASlowPaymentSharesItsAnswerWithEveryWaiter) {
  Result<Begun> first = Begin(Request("k1", "tok_slow"), Waiter{0, 1});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->kind, Begun::kStarted);
  EXPECT_EQ(first->answer.when, ProcessorAnswer::When::kAfterDelay);
  Result<Begun> duplicate = Begin(Request("k1", "tok_slow"), Waiter{1, 5});
  ASSERT_TRUE(duplicate.ok());
  EXPECT_EQ(duplicate->kind, Begun::kWait);
  EXPECT_EQ(ledger_.charges(), 0u);  // nothing before the processor answers
  std::optional<Answered> answered = ledger_.ProcessorAnswered("k1", Ids(), now_);
  ASSERT_TRUE(answered.has_value());
  EXPECT_EQ(answered->result.status(), v1::PaymentResult::PAYMENT_STATUS_APPROVED);
  EXPECT_EQ(answered->waiters, (std::vector<Waiter>{{0, 1}, {1, 5}}));
  EXPECT_EQ(ledger_.charges(), 1u);
  EXPECT_FALSE(ledger_.ProcessorAnswered("k1", Ids(), now_).has_value());  // answered once
}

TEST_F(PaymentStoreTest, ATimeoutPaymentIsForgottenWithItsLastWaiter) {
  ASSERT_TRUE(Begin(Request("k1", "tok_timeout"), Waiter{0, 1}).ok());
  ASSERT_TRUE(Begin(Request("k1", "tok_timeout"), Waiter{1, 2}).ok());
  ledger_.DropWaiter("k1", Waiter{0, 1});
  EXPECT_EQ(ledger_.in_flight(), 1u);
  ledger_.DropWaiter("k1", Waiter{1, 2});
  EXPECT_EQ(ledger_.in_flight(), 0u);
  // A later retry starts afresh, with any method.
  Result<Begun> again = Begin(Request("k1", "tok_approve"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->result.status(), v1::PaymentResult::PAYMENT_STATUS_APPROVED);
}

TEST_F(PaymentStoreTest, RefundIsIdempotentAndOnlyOfApprovedPayments) {
  Result<v1::PaymentResult> unknown = ledger_.Refund("txn_0123456789abcdef", now_);
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
  EXPECT_EQ(unknown.message(), "transaction_id \"txn_0123456789abcdef\" not found");
  std::string approved = Begin(Request("k1", "tok_approve"))->result.transaction_id();
  std::string declined = Begin(Request("k2", "tok_decline"))->result.transaction_id();
  ASSERT_TRUE(ledger_.Refund(approved, now_).ok());
  Result<v1::PaymentResult> again = ledger_.Refund(approved, now_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status(), v1::PaymentResult::PAYMENT_STATUS_REFUNDED);
  EXPECT_EQ(ledger_.refunds(), 1u);
  Result<v1::PaymentResult> not_approved = ledger_.Refund(declined, now_);
  EXPECT_EQ(not_approved.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Mentions(not_approved.status(), "was not approved")) << not_approved.message();
}

TEST_F(PaymentStoreTest, AVoidedKeyCannotChargeAndAVoidDuringTheProcessorRefundsItsApproval) {
  EXPECT_EQ(ledger_.Void("k1", now_).status(), v1::PaymentResult::PAYMENT_STATUS_VOIDED);
  Result<Begun> late = Begin(Request("k1", "tok_approve"));
  EXPECT_EQ(late.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Mentions(late.status(), "was voided")) << late.message();

  ASSERT_TRUE(Begin(Request("k2", "tok_slow")).ok());
  EXPECT_EQ(ledger_.Void("k2", now_).status(), v1::PaymentResult::PAYMENT_STATUS_VOIDED);
  std::optional<Answered> answered = ledger_.ProcessorAnswered("k2", Ids(), now_);
  ASSERT_TRUE(answered.has_value());
  EXPECT_EQ(answered->result.status(), v1::PaymentResult::PAYMENT_STATUS_REFUNDED);
  EXPECT_EQ(ledger_.charges(), 1u);
  EXPECT_EQ(ledger_.refunds(), 1u);  // no charge stands
}

TEST(PaymentValidationTest, RulesNameTheField) {
  PaymentAttempt attempt;
  v1::ProcessPaymentRequest request = Request("k", "tok_approve");
  request.mutable_amount()->set_amount_minor(0);
  Status zero = ValidateProcessRequest(request, &attempt);
  EXPECT_EQ(zero.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Mentions(zero, "amount")) << zero.message();
  request = Request("k", "tok_gold");
  EXPECT_TRUE(Mentions(ValidateProcessRequest(request, &attempt), "method.token must be one of"));

  v1::GetPaymentRequest get;
  EXPECT_EQ(ValidateGetRequest(get).message(), "transaction_id is required");
  get.set_idempotency_key("k9");
  Result<PaymentLookup> by_key = ValidateGetRequest(get);
  ASSERT_TRUE(by_key.ok());
  EXPECT_EQ(by_key->idempotency_key, "k9");
  EXPECT_TRUE(by_key->transaction_id.empty());
  get.set_transaction_id("txn_nope");
  Result<PaymentLookup> bad = ValidateGetRequest(get);
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Mentions(bad.status(), "transaction_id must be a transaction id")) << bad.message();
}

}  // namespace
}  // namespace percore::payment
