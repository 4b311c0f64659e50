// payment.v1 when the processor is slow or never answers (payment.proto: tok_slow, tok_timeout):
// calls end at the caller's deadline (or the longest hold) with DEADLINE_EXCEEDED and nothing
// charged; cancelled calls and shutdown leave nothing behind.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/services/payment/payment_test_support.h"

namespace percore::payment_test {
namespace {

TEST_F(PaymentServiceTest, TimeoutTokenEndsDeadlineExceededAtTheCallersDeadline) {
  for (size_t owner : {0, 1}) {
    std::string key = KeyOwnedBy(owner, "timeout");
    EXPECT_TRUE(HasCode(Process(*stub_, PaymentRequest(key, "tok_timeout"), nullptr, 300ms),
                        StatusCode::DEADLINE_EXCEEDED));
  }
  // The server lets go of the held calls and of their payments, and charged nothing.
  EXPECT_TRUE(testing::WaitFor([&] { return NothingPending(); }, kSettle));
  EXPECT_TRUE(server_->WaitUntilNoCalls(kSettle));
  EXPECT_EQ(Charges(), 0u);
  EXPECT_EQ(SumOverShards([](payment::PaymentHandler& h) { return h.ledger().size(); }), 0u);
}

TEST_F(PaymentServiceTest, RetryAfterATimeoutStartsAfresh) {
  std::string key = "timeout-then-retry";
  ASSERT_TRUE(HasCode(Process(*stub_, PaymentRequest(key, "tok_timeout"), nullptr, 200ms),
                      StatusCode::DEADLINE_EXCEEDED));
  ASSERT_TRUE(testing::WaitFor([&] { return NothingPending(); }, kSettle));
  // Held again, not answered from a record: nothing was recorded.
  EXPECT_TRUE(HasCode(Process(*stub_, PaymentRequest(key, "tok_timeout"), nullptr, 200ms),
                      StatusCode::DEADLINE_EXCEEDED));
  ASSERT_TRUE(testing::WaitFor([&] { return NothingPending(); }, kSettle));
  // And a retry with a method that answers is a fresh payment, not a mismatch.
  v1::PaymentResult result;
  Status status = Process(*stub_, PaymentRequest(key, "tok_approve"), &result);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(result.status(), v1::PaymentResult::PAYMENT_STATUS_APPROVED);
  EXPECT_EQ(Charges(), 1u);
}

TEST_F(PaymentServiceTest, DuplicatesOfAHeldPaymentWithAnotherMethodAreFailedPrecondition) {
  std::string key = "held-mismatch";
  BackgroundProcess held(*stub_, PaymentRequest(key, "tok_timeout"), 60s);
  ASSERT_TRUE(testing::WaitFor([&] { return Held(1, 1); }, kSettle));
  EXPECT_TRUE(IsErrorNaming(Process(*stub_, PaymentRequest(key, "tok_approve")),
                            StatusCode::FAILED_PRECONDITION, "method"));
  held.Cancel();
  EXPECT_TRUE(HasCode(held.Wait(), StatusCode::CANCELLED));
  EXPECT_TRUE(testing::WaitFor([&] { return NothingPending(); }, kSettle));
  EXPECT_EQ(Charges(), 0u);
}

TEST_F(PaymentServiceTest, CancelledTimeoutCallsLeaveNoCallsAndNoPendingState) {
  std::vector<std::unique_ptr<Stub>> stubs;
  for (int i = 0; i < 4; ++i) stubs.push_back(NewStub());
  std::vector<std::unique_ptr<BackgroundProcess>> calls;
  for (int i = 0; i < 8; ++i) {  // 4 keys, two calls each, over 4 connections
    std::string key = "cancelled-" + std::to_string(i / 2);
    calls.push_back(std::make_unique<BackgroundProcess>(*stubs[i % stubs.size()],
                                                        PaymentRequest(key, "tok_timeout"), 60s));
  }
  ASSERT_TRUE(testing::WaitFor([&] { return Held(calls.size(), 4); }, kSettle))
      << "waiting calls " << WaitingCalls() << ", in flight " << InFlightPayments();
  for (auto& call : calls) call->Cancel();
  for (auto& call : calls) EXPECT_TRUE(HasCode(call->Wait(), StatusCode::CANCELLED));

  EXPECT_TRUE(server_->WaitUntilNoCalls(kSettle));
  EXPECT_TRUE(testing::WaitFor([&] { return NothingPending(); }, kSettle))
      << "waiting " << WaitingCalls() << ", in flight " << InFlightPayments();
  EXPECT_EQ(Charges(), 0u);
}

// A processor that is never waited for longer than 300 ms, whatever the caller's deadline.
class ShortHoldTest : public PaymentServiceTest {
 protected:
  payment::PaymentServiceOptions Options() override { return {.max_hold = 300ms}; }
};

TEST_F(ShortHoldTest, TimeoutIsHeldNoLongerThanTheLongestHold) {
  // The client would wait 20 s; the server answers at its hold, with its own message.
  Status status = Process(*stub_, PaymentRequest("short-hold", "tok_timeout"), nullptr, 20s);
  EXPECT_TRUE(IsErrorNaming(status, StatusCode::DEADLINE_EXCEEDED, "did not answer"));
  EXPECT_TRUE(IsErrorNaming(status, StatusCode::DEADLINE_EXCEEDED, "nothing was charged"));
  EXPECT_TRUE(testing::WaitFor([&] { return NothingPending(); }, kSettle));
  EXPECT_EQ(Charges(), 0u);
}

// Held calls that would otherwise wait two minutes.
class LongHoldTest : public PaymentServiceTest {
 protected:
  payment::PaymentServiceOptions Options() override { return {.max_hold = 120s}; }
};

TEST_F(LongHoldTest, ShutdownEndsHeldCallsWithUnavailable) {
  std::vector<std::unique_ptr<Stub>> stubs;
  for (int i = 0; i < 4; ++i) stubs.push_back(NewStub());
  std::vector<std::unique_ptr<BackgroundProcess>> calls;
  for (int i = 0; i < 6; ++i) {
    calls.push_back(std::make_unique<BackgroundProcess>(
        *stubs[i % stubs.size()], PaymentRequest("drain-" + std::to_string(i % 3), "tok_timeout"),
        120s));
  }
  ASSERT_TRUE(testing::WaitFor([&] { return Held(calls.size(), 3); }, kSettle));

  // Shutdown begins: the held calls are ended at once instead of waiting out their hold.
  server_->host().BeginDrain();
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        for (auto& call : calls) {
          if (!call->finished()) return false;
        }
        return true;
      },
      kSettle));
  for (auto& call : calls) {
    EXPECT_TRUE(IsErrorNaming(call->Wait(), StatusCode::UNAVAILABLE, "shutting down"));
  }
  EXPECT_TRUE(server_->host().WaitForIdle(std::chrono::steady_clock::now() + kSettle));
  EXPECT_TRUE(testing::WaitFor([&] { return NothingPending(); }, kSettle));
  EXPECT_EQ(Charges(), 0u);
}

// A processor that takes a second for tok_slow, so a test can act while it works.
class SlowProcessorTest : public PaymentServiceTest {
 protected:
  payment::PaymentServiceOptions Options() override { return {.slow_delay = 1s}; }
};

TEST_F(SlowProcessorTest, SlowPaymentWhoseCallerGaveUpIsStillApprovedOnce) {
  std::string key = "slow-given-up";
  BackgroundProcess call(*stub_, PaymentRequest(key, "tok_slow"), 60s);
  ASSERT_TRUE(testing::WaitFor([&] { return Held(1, 1); }, kSettle));
  call.Cancel();
  EXPECT_TRUE(HasCode(call.Wait(), StatusCode::CANCELLED));
  // The processor was asked and still answers: the charge stands and a retry gets it.
  EXPECT_TRUE(testing::WaitFor([&] { return Charges() == 1; }, kSettle));
  EXPECT_TRUE(testing::WaitFor([&] { return NothingPending(); }, kSettle));
  v1::PaymentResult result;
  ASSERT_TRUE(Process(*stub_, PaymentRequest(key, "tok_slow"), &result).ok());
  EXPECT_EQ(result.status(), v1::PaymentResult::PAYMENT_STATUS_APPROVED);
  EXPECT_EQ(Charges(), 1u);
}

}  // namespace
}  // namespace percore::payment_test
