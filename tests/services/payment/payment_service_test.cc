// payment.v1.PaymentService through a real server and the generated client (payment.proto):
// the simulator's outcomes, where payments live, idempotent retries, GetPayment and refunds.

#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/services/payment/payment_test_support.h"

namespace percore::payment_test {
namespace {

using google::protobuf::util::MessageDifferencer;
using google::protobuf::util::TimeUtil;

constexpr char kUnknownId[] = "txn_0123456789abcdef";  // well-formed, never issued in a test

template <class Message>
::testing::AssertionResult Same(const Message& actual, const Message& expected) {
  if (MessageDifferencer::Equals(actual, expected)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got {" << actual.ShortDebugString() << "}, expected {"
                                       << expected.ShortDebugString() << "}";
}

bool IsTransactionId(const std::string& id) {
  if (id.size() != 20 || id.rfind("txn_", 0) != 0) return false;
  return id.find_first_not_of("0123456789abcdef", 4) == std::string::npos;
}

TEST_F(PaymentServiceTest, ApproveTokenIsApprovedWithEveryField) {
  for (size_t owner : {0, 1}) {
    std::string key = KeyOwnedBy(owner, "approve");
    v1::PaymentResult result;
    ASSERT_TRUE(
        Process(*stub_, PaymentRequest(key, "tok_approve", "order-7", 4200, "EUR"), &result).ok());
    EXPECT_EQ(result.status(), v1::PaymentResult::PAYMENT_STATUS_APPROVED);
    EXPECT_TRUE(IsTransactionId(result.transaction_id())) << result.transaction_id();
    EXPECT_EQ(result.order_id(), "order-7");
    EXPECT_EQ(result.amount().amount_minor(), 4200);
    EXPECT_EQ(result.amount().currency(), "EUR");
    EXPECT_EQ(result.idempotency_key(), key);
    EXPECT_TRUE(result.decline_reason().empty());
    EXPECT_TRUE(result.has_processed_at());
    EXPECT_GT(result.processed_at().seconds(), 0);
    EXPECT_FALSE(result.has_refunded_at());
  }
  EXPECT_EQ(Charges(), 2u);
}

TEST_F(PaymentServiceTest, DeclineTokenIsADeclinedResultNotAnError) {
  v1::PaymentResult result;
  Status status = Process(*stub_, PaymentRequest("decline-1", "tok_decline"), &result);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(result.status(), v1::PaymentResult::PAYMENT_STATUS_DECLINED);
  EXPECT_EQ(result.decline_reason(), "card_declined");
  EXPECT_TRUE(IsTransactionId(result.transaction_id())) << result.transaction_id();
  EXPECT_EQ(result.idempotency_key(), "decline-1");
  EXPECT_EQ(Charges(), 0u);
}

TEST_F(PaymentServiceTest, SlowTokenIsApprovedAfterTheSlowDelay) {
  auto sent = std::chrono::system_clock::now();
  v1::PaymentResult result;
  Status status = Process(*stub_, PaymentRequest("slow-1", "tok_slow"), &result);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(result.status(), v1::PaymentResult::PAYMENT_STATUS_APPROVED);
  // The processor cannot have answered before its delay: processed_at is at least 200 ms after
  // the request left.
  int64_t sent_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(sent.time_since_epoch()).count();
  EXPECT_GE(TimeUtil::TimestampToMilliseconds(result.processed_at()), sent_ms + 200);
  EXPECT_EQ(Charges(), 1u);
}

TEST_F(PaymentServiceTest, TransactionIdHashesToTheShardOfItsIdempotencyKey) {
  std::set<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    std::string key = "placement-" + std::to_string(i);
    v1::PaymentResult result;
    ASSERT_TRUE(Process(*stub_, PaymentRequest(key), &result).ok());
    EXPECT_EQ(storage::PartitionOf(result.transaction_id(), 2), storage::PartitionOf(key, 2))
        << key << " -> " << result.transaction_id();
    ids.insert(result.transaction_id());
  }
  EXPECT_EQ(ids.size(), 40u);  // distinct
  // Each shard recorded exactly the payments whose keys it owns.
  for (runtime::ShardId s = 0; s < 2; ++s) {
    size_t owned = 0;
    for (int i = 0; i < 40; ++i) {
      if (storage::PartitionOf("placement-" + std::to_string(i), 2) == s) ++owned;
    }
    EXPECT_EQ(OnShard(s, [](payment::PaymentHandler& h) { return h.ledger().size(); }), owned);
  }
}

TEST_F(PaymentServiceTest, RetryWithTheSameKeyReturnsTheFirstResultAndChargesOnce) {
  auto other = NewStub();  // a retry may come in on another connection, and so another shard
  for (size_t owner : {0, 1}) {
    std::string key = KeyOwnedBy(owner, "retry");
    v1::PaymentResult first;
    ASSERT_TRUE(Process(*stub_, PaymentRequest(key), &first).ok());
    for (Stub* stub : {stub_.get(), other.get()}) {
      v1::PaymentResult again;
      Status status = Process(*stub, PaymentRequest(key), &again);
      ASSERT_TRUE(status.ok()) << Describe(status);
      EXPECT_TRUE(Same(again, first));
    }
  }
  EXPECT_EQ(Charges(), 2u);  // one per key
}

TEST_F(PaymentServiceTest, RetryOfADeclinedPaymentReturnsTheDecline) {
  v1::PaymentResult first;
  ASSERT_TRUE(Process(*stub_, PaymentRequest("declined-retry", "tok_decline"), &first).ok());
  v1::PaymentResult again;
  ASSERT_TRUE(Process(*stub_, PaymentRequest("declined-retry", "tok_decline"), &again).ok());
  EXPECT_TRUE(Same(again, first));
  EXPECT_EQ(Charges(), 0u);
}

TEST_F(PaymentServiceTest, RetryWithDifferentFieldsIsFailedPreconditionNamingThem) {
  v1::PaymentResult first;
  ASSERT_TRUE(
      Process(*stub_, PaymentRequest("mismatch", "tok_approve", "order-1", 1000, "USD"), &first)
          .ok());
  struct Case {
    v1::ProcessPaymentRequest request;
    std::vector<std::string> fields;
  };
  std::vector<Case> cases = {
      {PaymentRequest("mismatch", "tok_approve", "order-2", 1000, "USD"), {"order_id"}},
      {PaymentRequest("mismatch", "tok_approve", "order-1", 1001, "USD"), {"amount"}},
      {PaymentRequest("mismatch", "tok_approve", "order-1", 1000, "EUR"), {"amount"}},
      {PaymentRequest("mismatch", "tok_decline", "order-1", 1000, "USD"), {"method"}},
      {PaymentRequest("mismatch", "tok_slow", "order-9", 5, "USD"),
       {"order_id", "amount", "method"}},
  };
  for (const Case& c : cases) {
    Status status = Process(*stub_, c.request);
    for (const std::string& field : c.fields) {
      EXPECT_TRUE(IsErrorNaming(status, StatusCode::FAILED_PRECONDITION, field))
          << c.request.ShortDebugString();
    }
  }
  // The first payment is untouched and was charged once.
  v1::PaymentResult stored;
  ASSERT_TRUE(Get(*stub_, first.transaction_id(), &stored).ok());
  EXPECT_TRUE(Same(stored, first));
  EXPECT_EQ(Charges(), 1u);
}

TEST_F(PaymentServiceTest, GetPaymentReturnsTheRecordedPayment) {
  for (const char* token : {"tok_approve", "tok_decline"}) {
    v1::PaymentResult processed;
    ASSERT_TRUE(
        Process(*stub_, PaymentRequest(std::string("get-") + token, token), &processed).ok());
    v1::PaymentResult got;
    Status status = Get(*stub_, processed.transaction_id(), &got);
    ASSERT_TRUE(status.ok()) << Describe(status);
    EXPECT_TRUE(Same(got, processed));
  }
}

TEST_F(PaymentServiceTest, GetPaymentOfAnUnknownIdIsNotFound) {
  EXPECT_TRUE(IsErrorNaming(Get(*stub_, kUnknownId), StatusCode::NOT_FOUND, kUnknownId));
}

TEST_F(PaymentServiceTest, GetPaymentOfAMalformedIdIsInvalidArgumentNamingTransactionId) {
  for (const char* id : {"", "nope", "txn_0123", "TXN_0123456789abcdef", "txn_0123456789ABCDEF",
                         "txn_0123456789abcdefa", "pay_0123456789abcdef"}) {
    EXPECT_TRUE(IsErrorNaming(Get(*stub_, id), StatusCode::INVALID_ARGUMENT, "transaction_id"))
        << "\"" << id << "\"";
  }
}

TEST_F(PaymentServiceTest, RefundOfAnApprovedPaymentMarksItRefunded) {
  for (size_t owner : {0, 1}) {
    v1::PaymentResult approved;
    ASSERT_TRUE(Process(*stub_, PaymentRequest(KeyOwnedBy(owner, "refund")), &approved).ok());
    v1::PaymentResult refunded;
    Status status = Refund(*stub_, approved.transaction_id(), &refunded);
    ASSERT_TRUE(status.ok()) << Describe(status);
    EXPECT_EQ(refunded.status(), v1::PaymentResult::PAYMENT_STATUS_REFUNDED);
    EXPECT_EQ(refunded.transaction_id(), approved.transaction_id());
    EXPECT_TRUE(refunded.has_refunded_at());
    EXPECT_GE(TimeUtil::TimestampToNanoseconds(refunded.refunded_at()),
              TimeUtil::TimestampToNanoseconds(approved.processed_at()));
    EXPECT_TRUE(Same(refunded.amount(), approved.amount()));

    v1::PaymentResult got;
    ASSERT_TRUE(Get(*stub_, approved.transaction_id(), &got).ok());
    EXPECT_TRUE(Same(got, refunded));
  }
}

TEST_F(PaymentServiceTest, RefundIsIdempotent) {
  v1::PaymentResult approved;
  ASSERT_TRUE(Process(*stub_, PaymentRequest("refund-twice"), &approved).ok());
  v1::PaymentResult first;
  ASSERT_TRUE(Refund(*stub_, approved.transaction_id(), &first).ok());
  v1::PaymentResult second;
  Status status = Refund(*stub_, approved.transaction_id(), &second);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_TRUE(Same(second, first));  // same refunded_at: refunded once
}

TEST_F(PaymentServiceTest, RefundOfADeclinedPaymentIsFailedPrecondition) {
  v1::PaymentResult declined;
  ASSERT_TRUE(Process(*stub_, PaymentRequest("refund-declined", "tok_decline"), &declined).ok());
  EXPECT_TRUE(IsErrorNaming(Refund(*stub_, declined.transaction_id()),
                            StatusCode::FAILED_PRECONDITION, declined.transaction_id()));
  v1::PaymentResult got;
  ASSERT_TRUE(Get(*stub_, declined.transaction_id(), &got).ok());
  EXPECT_EQ(got.status(), v1::PaymentResult::PAYMENT_STATUS_DECLINED);
}

TEST_F(PaymentServiceTest, RefundOfAnUnknownIdIsNotFound) {
  EXPECT_TRUE(IsErrorNaming(Refund(*stub_, kUnknownId), StatusCode::NOT_FOUND, kUnknownId));
}

TEST_F(PaymentServiceTest, RefundOfAMalformedIdIsInvalidArgumentNamingTransactionId) {
  for (const char* id : {"", "txn_xyz", "txn_0123456789abcde"}) {
    EXPECT_TRUE(IsErrorNaming(Refund(*stub_, id), StatusCode::INVALID_ARGUMENT, "transaction_id"))
        << "\"" << id << "\"";
  }
}

TEST_F(PaymentServiceTest, RetryAfterARefundDoesNotChargeAgain) {
  v1::PaymentResult approved;
  ASSERT_TRUE(Process(*stub_, PaymentRequest("refund-then-retry"), &approved).ok());
  ASSERT_TRUE(Refund(*stub_, approved.transaction_id()).ok());
  v1::PaymentResult again;
  ASSERT_TRUE(Process(*stub_, PaymentRequest("refund-then-retry"), &again).ok());
  EXPECT_EQ(again.transaction_id(), approved.transaction_id());
  EXPECT_EQ(again.status(), v1::PaymentResult::PAYMENT_STATUS_REFUNDED);
  EXPECT_EQ(Charges(), 1u);
}

}  // namespace
}  // namespace percore::payment_test
