// VoidPayment (payment.proto): settling a key whose ProcessPayment outcome a caller does not
// know. Afterwards no charge stands for the key, whatever state the payment was in.

#include <gtest/gtest.h>

#include <string>

#include "tests/services/payment/payment_test_support.h"

namespace percore::payment_test {
namespace {

using ::percore::testing::WaitFor;

Status Void(Stub& stub, const std::string& idempotency_key, v1::PaymentResult* result = nullptr) {
  ClientContext context;
  SetDeadline(context);
  v1::VoidPaymentRequest request;
  request.set_idempotency_key(idempotency_key);
  v1::PaymentResult response;
  Status status = stub.VoidPayment(&context, request, &response);
  if (result) *result = std::move(response);
  return status;
}

class VoidPaymentTest : public PaymentServiceTest {
 protected:
  uint64_t Refunds() {
    return SumOverShards([](payment::PaymentHandler& h) { return h.ledger().refunds(); });
  }
};

TEST_F(VoidPaymentTest, AnApprovedPaymentIsRefunded) {
  for (size_t owner : {0, 1}) {
    std::string key = KeyOwnedBy(owner, "void-approved");
    v1::PaymentResult paid;
    ASSERT_TRUE(Process(*stub_, PaymentRequest(key), &paid).ok());
    v1::PaymentResult voided;
    Status status = Void(*stub_, key, &voided);
    ASSERT_TRUE(status.ok()) << Describe(status);
    EXPECT_EQ(voided.status(), v1::PaymentResult::PAYMENT_STATUS_REFUNDED);
    EXPECT_EQ(voided.transaction_id(), paid.transaction_id());
    EXPECT_TRUE(voided.has_refunded_at());
    // Idempotent: voiding again, or retrying the charge, returns the refund.
    ASSERT_TRUE(Void(*stub_, key, &voided).ok());
    EXPECT_EQ(voided.status(), v1::PaymentResult::PAYMENT_STATUS_REFUNDED);
    v1::PaymentResult retried;
    ASSERT_TRUE(Process(*stub_, PaymentRequest(key), &retried).ok());
    EXPECT_EQ(retried.status(), v1::PaymentResult::PAYMENT_STATUS_REFUNDED);
  }
  EXPECT_EQ(Charges(), 2u);
  EXPECT_EQ(Refunds(), 2u);
}

TEST_F(VoidPaymentTest, ADeclinedPaymentStaysDeclined) {
  ASSERT_TRUE(Process(*stub_, PaymentRequest("void-declined", "tok_decline")).ok());
  v1::PaymentResult voided;
  ASSERT_TRUE(Void(*stub_, "void-declined", &voided).ok());
  EXPECT_EQ(voided.status(), v1::PaymentResult::PAYMENT_STATUS_DECLINED);
  EXPECT_EQ(Refunds(), 0u);
}

TEST_F(VoidPaymentTest, AnUnknownKeyIsVoidedAndALaterChargeWithItIsRefused) {
  for (size_t owner : {0, 1}) {
    std::string key = KeyOwnedBy(owner, "void-unknown");
    v1::PaymentResult voided;
    Status status = Void(*stub_, key, &voided);
    ASSERT_TRUE(status.ok()) << Describe(status);
    EXPECT_EQ(voided.status(), v1::PaymentResult::PAYMENT_STATUS_VOIDED);
    EXPECT_EQ(voided.idempotency_key(), key);
    EXPECT_TRUE(voided.transaction_id().empty());
    // The request that was "lost" arrives after all: it must not charge.
    EXPECT_TRUE(IsErrorNaming(Process(*stub_, PaymentRequest(key)), StatusCode::FAILED_PRECONDITION,
                              "voided"));
  }
  EXPECT_EQ(Charges(), 0u);
}

// A processor that takes two seconds for tok_slow: the void lands while it works, however slow
// the machine (a 50 ms caller deadline on a new channel could expire before the charge began).
class VoidWhileProcessingTest : public VoidPaymentTest {
 protected:
  payment::PaymentServiceOptions Options() override { return {.slow_delay = 2s}; }
};

TEST_F(VoidWhileProcessingTest, AChargeStillInTheProcessorIsRefundedWhenItIsApproved) {
  std::string key = KeyOwnedBy(1, "void-slow");
  // The caller of the slow charge gives up once the processor has it (as a saga step whose
  // deadline passed does).
  BackgroundProcess first(*stub_, PaymentRequest(key, "tok_slow"), 60s);
  ASSERT_TRUE(WaitFor([&] { return Held(1, 1); }, kSettle));
  first.Cancel();
  ASSERT_TRUE(HasCode(first.Wait(), StatusCode::CANCELLED));
  v1::PaymentResult voided;
  ASSERT_TRUE(Void(*stub_, key, &voided).ok());
  EXPECT_EQ(voided.status(), v1::PaymentResult::PAYMENT_STATUS_VOIDED);
  // The processor approves after its two seconds: the charge is refunded as it lands.
  ASSERT_TRUE(WaitFor([&] { return Charges() == 1u && Refunds() == 1u; }, kSettle))
      << "charges " << Charges() << ", refunds " << Refunds();
  v1::PaymentResult retried;
  ASSERT_TRUE(Process(*stub_, PaymentRequest(key, "tok_slow"), &retried).ok());
  EXPECT_EQ(retried.status(), v1::PaymentResult::PAYMENT_STATUS_REFUNDED);
}

TEST_F(VoidPaymentTest, AKeyTheProcessorNeverAnswersIsVoided) {
  std::string key = KeyOwnedBy(0, "void-timeout");
  BackgroundProcess held(*stub_, PaymentRequest(key, "tok_timeout"), 2s);
  ASSERT_TRUE(WaitFor([&] { return Held(1, 1); }, kSettle));
  v1::PaymentResult voided;
  ASSERT_TRUE(Void(*stub_, key, &voided).ok());
  EXPECT_EQ(voided.status(), v1::PaymentResult::PAYMENT_STATUS_VOIDED);
  EXPECT_TRUE(HasCode(held.Wait(), StatusCode::DEADLINE_EXCEEDED));
  EXPECT_TRUE(IsErrorNaming(Process(*stub_, PaymentRequest(key, "tok_approve")),
                            StatusCode::FAILED_PRECONDITION, "voided"));
  EXPECT_EQ(Charges(), 0u);
}

TEST_F(VoidPaymentTest, GetPaymentByIdempotencyKeyFindsTheRecordOnly) {
  for (size_t owner : {0, 1}) {
    std::string key = KeyOwnedBy(owner, "get-by-key");
    v1::PaymentResult paid;
    ASSERT_TRUE(Process(*stub_, PaymentRequest(key), &paid).ok());
    ClientContext context;
    SetDeadline(context);
    v1::GetPaymentRequest request;
    request.set_idempotency_key(key);
    v1::PaymentResult found;
    Status status = stub_->GetPayment(&context, request, &found);
    ASSERT_TRUE(status.ok()) << Describe(status);
    EXPECT_EQ(found.transaction_id(), paid.transaction_id());
    EXPECT_EQ(found.status(), v1::PaymentResult::PAYMENT_STATUS_APPROVED);
  }
  ClientContext context;
  SetDeadline(context);
  v1::GetPaymentRequest unknown;
  unknown.set_idempotency_key("never-used");
  v1::PaymentResult ignored;
  EXPECT_TRUE(IsErrorNaming(stub_->GetPayment(&context, unknown, &ignored), StatusCode::NOT_FOUND,
                            "never-used"));
  EXPECT_EQ(Charges(), 2u);  // a lookup never charges
}

TEST_F(VoidPaymentTest, AMissingKeyIsInvalidArgumentNamingIt) {
  EXPECT_TRUE(IsErrorNaming(Void(*stub_, ""), StatusCode::INVALID_ARGUMENT, "idempotency_key"));
  EXPECT_TRUE(IsErrorNaming(Void(*stub_, std::string(129, 'k')), StatusCode::INVALID_ARGUMENT,
                            "idempotency_key"));
}

}  // namespace
}  // namespace percore::payment_test
