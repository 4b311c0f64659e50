// PaymentService as the in-process clients::PaymentClient: another service in this process calls
// it, from a shard thread, with the caller's deadline in CallOptions; the same service API and
// ledger as the RPC path.

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>

#include "core/rpc/grpc_status.h"
#include "services/payment/payment_service.h"
#include "tests/services/payment/payment_test_support.h"

namespace percore::payment_test {
namespace {

struct Answer {
  Status status;
  v1::PaymentResult result;
  bool on_calling_shard = false;  // done ran on the shard that made the call
};

class LocalPaymentClientTest : public PaymentServiceTest {
 protected:
  void SetUp() override {
    PaymentServiceTest::SetUp();
    client_ = service_;  // the service API is the client
  }

  // Runs call(client, done) on `shard`'s thread and waits here for done.
  template <class Call>
  Answer CallFrom(runtime::ShardId shard, Call call) {
    auto promise = std::make_shared<std::promise<Answer>>();
    std::future<Answer> future = promise->get_future();
    server_->runtime().SubmitTo(shard, [client = client_, promise, shard, call]() mutable {
      call(*client, [promise, shard](const percore::Status& status, v1::PaymentResult result) {
        runtime::Shard* here = runtime::Shard::Current();
        promise->set_value(
            Answer{rpc::ToGrpcStatus(status), std::move(result), here && here->id() == shard});
      });
    });
    if (future.wait_for(kSettle) != std::future_status::ready) {
      ADD_FAILURE() << "done never ran";
      return Answer{Status(StatusCode::UNKNOWN, "no answer"), {}, false};
    }
    return future.get();
  }

  Answer ProcessFrom(runtime::ShardId shard, v1::ProcessPaymentRequest request,
                     std::chrono::milliseconds timeout = kCallTimeout) {
    clients::CallOptions options;
    options.deadline = std::chrono::system_clock::now() + timeout;
    return CallFrom(shard, [request, options](clients::PaymentClient& client,
                                              clients::Done<v1::PaymentResult> done) {
      client.ProcessPayment(request, options, std::move(done));
    });
  }

  Answer RefundFrom(runtime::ShardId shard, const std::string& transaction_id) {
    v1::RefundPaymentRequest request;
    request.set_transaction_id(transaction_id);
    return CallFrom(
        shard, [request](clients::PaymentClient& client, clients::Done<v1::PaymentResult> done) {
          client.RefundPayment(request, clients::CallOptions(), std::move(done));
        });
  }

  std::shared_ptr<clients::PaymentClient> client_;
};

TEST_F(LocalPaymentClientTest, ApproveTokenIsApprovedOnEveryShardPair) {
  for (runtime::ShardId caller : {0u, 1u}) {
    for (size_t owner : {0, 1}) {  // same shard (inline) and across shards
      std::string key = KeyOwnedBy(owner, "local-approve-" + std::to_string(caller));
      Answer answer = ProcessFrom(caller, PaymentRequest(key, "tok_approve"));
      ASSERT_TRUE(answer.status.ok()) << Describe(answer.status);
      EXPECT_EQ(answer.result.status(), v1::PaymentResult::PAYMENT_STATUS_APPROVED);
      EXPECT_EQ(answer.result.idempotency_key(), key);
      EXPECT_TRUE(answer.on_calling_shard);
    }
  }
  EXPECT_EQ(Charges(), 4u);
}

TEST_F(LocalPaymentClientTest, TimeoutTokenEndsDeadlineExceededAtTheCallOptionsDeadline) {
  for (runtime::ShardId caller : {0u, 1u}) {
    for (size_t owner : {0, 1}) {
      std::string key = KeyOwnedBy(owner, "local-timeout-" + std::to_string(caller));
      Answer answer = ProcessFrom(caller, PaymentRequest(key, "tok_timeout"), 200ms);
      EXPECT_TRUE(HasCode(answer.status, StatusCode::DEADLINE_EXCEEDED));
      EXPECT_TRUE(answer.on_calling_shard);
    }
  }
  EXPECT_TRUE(testing::WaitFor([&] { return NothingPending(); }, kSettle));
  EXPECT_EQ(Charges(), 0u);
}

TEST_F(LocalPaymentClientTest, SlowTokenWaitsForTheProcessor) {
  Answer answer = ProcessFrom(1, PaymentRequest(KeyOwnedBy(0, "local-slow"), "tok_slow"));
  ASSERT_TRUE(answer.status.ok()) << Describe(answer.status);
  EXPECT_EQ(answer.result.status(), v1::PaymentResult::PAYMENT_STATUS_APPROVED);
  EXPECT_TRUE(answer.on_calling_shard);
  EXPECT_EQ(Charges(), 1u);
}

TEST_F(LocalPaymentClientTest, SharesIdempotencyWithTheRpcPath) {
  v1::PaymentResult over_rpc;
  ASSERT_TRUE(Process(*stub_, PaymentRequest("local-shared"), &over_rpc).ok());
  for (runtime::ShardId caller : {0u, 1u}) {
    Answer answer = ProcessFrom(caller, PaymentRequest("local-shared"));
    ASSERT_TRUE(answer.status.ok()) << Describe(answer.status);
    EXPECT_EQ(answer.result.transaction_id(), over_rpc.transaction_id());
  }
  Answer mismatch = ProcessFrom(0, PaymentRequest("local-shared", "tok_approve", "order-2"));
  EXPECT_TRUE(IsErrorNaming(mismatch.status, StatusCode::FAILED_PRECONDITION, "order_id"));
  EXPECT_EQ(Charges(), 1u);
}

TEST_F(LocalPaymentClientTest, InvalidRequestIsInvalidArgumentNamingTheField) {
  Answer answer = ProcessFrom(0, PaymentRequest("local-invalid", "tok_approve", "order-1", 0));
  EXPECT_TRUE(IsErrorNaming(answer.status, StatusCode::INVALID_ARGUMENT, "amount.amount_minor"));
  EXPECT_TRUE(answer.on_calling_shard);
}

TEST_F(LocalPaymentClientTest, RefundMarksThePaymentRefunded) {
  Answer approved = ProcessFrom(0, PaymentRequest(KeyOwnedBy(1, "local-refund")));
  ASSERT_TRUE(approved.status.ok()) << Describe(approved.status);
  Answer refunded = RefundFrom(0, approved.result.transaction_id());
  ASSERT_TRUE(refunded.status.ok()) << Describe(refunded.status);
  EXPECT_EQ(refunded.result.status(), v1::PaymentResult::PAYMENT_STATUS_REFUNDED);
  EXPECT_TRUE(refunded.on_calling_shard);
  EXPECT_TRUE(HasCode(RefundFrom(1, "txn_0123456789abcdef").status, StatusCode::NOT_FOUND));
  EXPECT_TRUE(
      IsErrorNaming(RefundFrom(1, "bad").status, StatusCode::INVALID_ARGUMENT, "transaction_id"));
}

// A processor that takes a second for tok_slow.
class LocalSlowProcessorTest : public LocalPaymentClientTest {
 protected:
  payment::PaymentServiceOptions Options() override { return {.slow_delay = 1s}; }
};

TEST_F(LocalSlowProcessorTest, SlowTokenPastTheDeadlineIsDeadlineExceededYetChargedOnce) {
  std::string key = KeyOwnedBy(1, "local-slow-deadline");
  Answer answer = ProcessFrom(0, PaymentRequest(key, "tok_slow"), 100ms);
  EXPECT_TRUE(IsErrorNaming(answer.status, StatusCode::DEADLINE_EXCEEDED, "idempotency_key"));
  EXPECT_TRUE(answer.on_calling_shard);
  // The processor still approves; the retry gets that payment instead of a second charge.
  EXPECT_TRUE(testing::WaitFor([&] { return Charges() == 1; }, kSettle));
  Answer retry = ProcessFrom(0, PaymentRequest(key, "tok_slow"));
  ASSERT_TRUE(retry.status.ok()) << Describe(retry.status);
  EXPECT_EQ(retry.result.status(), v1::PaymentResult::PAYMENT_STATUS_APPROVED);
  EXPECT_EQ(Charges(), 1u);
}

}  // namespace
}  // namespace percore::payment_test
