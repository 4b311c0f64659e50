// payment.v1 under concurrent clients (payment.proto: "charges once per idempotency key"):
// duplicates racing while the processor works share its one answer, conflicting duplicates
// lose with FAILED_PRECONDITION, and many keys at once are each charged exactly once.

#include <gtest/gtest.h>

#include <latch>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/services/payment/payment_test_support.h"

namespace percore::payment_test {
namespace {

constexpr int kChannels = 8;  // connections spread the calls over both shards

class PaymentConcurrencyTest : public PaymentServiceTest {
 protected:
  void SetUp() override {
    PaymentServiceTest::SetUp();
    OpenConnections(kChannels);
  }

  struct Outcome {
    Status status;
    v1::PaymentResult result;
  };

  // Sends requests[i] on `requests.size()` threads that start together.
  std::vector<Outcome> SendTogether(const std::vector<v1::ProcessPaymentRequest>& requests) {
    std::vector<Outcome> outcomes(requests.size());
    std::latch start(static_cast<std::ptrdiff_t>(requests.size()));
    std::vector<std::thread> threads;
    for (size_t i = 0; i < requests.size(); ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        outcomes[i].status = Process(StubFor(i), requests[i], &outcomes[i].result);
      });
    }
    for (auto& t : threads) t.join();
    return outcomes;
  }
};

TEST_F(PaymentConcurrencyTest, ThirtyTwoSlowDuplicatesChargeOnceAndShareOneTransaction) {
  for (size_t owner : {0, 1}) {
    std::string key = KeyOwnedBy(owner, "duplicates");
    std::vector<v1::ProcessPaymentRequest> requests(32, PaymentRequest(key, "tok_slow"));
    std::vector<Outcome> outcomes = SendTogether(requests);
    std::set<std::string> ids;
    for (const Outcome& o : outcomes) {
      ASSERT_TRUE(o.status.ok()) << Describe(o.status);
      EXPECT_EQ(o.result.status(), v1::PaymentResult::PAYMENT_STATUS_APPROVED);
      ids.insert(o.result.transaction_id());
    }
    EXPECT_EQ(ids.size(), 1u) << "duplicates got different transactions";
  }
  EXPECT_EQ(Charges(), 2u);  // one per key
  EXPECT_TRUE(testing::WaitFor([&] { return NothingPending(); }, kSettle));
}

TEST_F(PaymentConcurrencyTest, ConflictingDuplicatesChargeOnceAndTheRestAreFailedPrecondition) {
  // Two amounts race under one key: whichever reaches the owner first is the payment.
  std::vector<v1::ProcessPaymentRequest> requests;
  for (int i = 0; i < 32; ++i) {
    requests.push_back(PaymentRequest("conflict", "tok_slow", "order-1", i % 2 == 0 ? 1000 : 2000));
  }
  std::vector<Outcome> outcomes = SendTogether(requests);
  std::map<int64_t, int> ok_by_amount;
  std::set<std::string> ids;
  int failed = 0;
  for (const Outcome& o : outcomes) {
    if (o.status.ok()) {
      ++ok_by_amount[o.result.amount().amount_minor()];
      ids.insert(o.result.transaction_id());
    } else {
      EXPECT_TRUE(IsErrorNaming(o.status, StatusCode::FAILED_PRECONDITION, "amount"));
      ++failed;
    }
  }
  ASSERT_EQ(ok_by_amount.size(), 1u) << "both amounts were accepted";
  EXPECT_EQ(ok_by_amount.begin()->second, 16);
  EXPECT_EQ(failed, 16);
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(Charges(), 1u);
}

TEST_F(PaymentConcurrencyTest, ManyKeysAtOnceAreEachChargedOnce) {
  constexpr int kKeys = 16;
  std::vector<v1::ProcessPaymentRequest> requests;
  for (int i = 0; i < 4 * kKeys; ++i) {  // every duplicate of a key repeats its token
    int key = i % kKeys;
    requests.push_back(
        PaymentRequest("many-" + std::to_string(key), key % 2 == 0 ? "tok_slow" : "tok_approve"));
  }
  std::vector<Outcome> outcomes = SendTogether(requests);
  std::map<std::string, std::set<std::string>> ids_by_key;
  for (const Outcome& o : outcomes) {
    ASSERT_TRUE(o.status.ok()) << Describe(o.status);
    ids_by_key[o.result.idempotency_key()].insert(o.result.transaction_id());
  }
  EXPECT_EQ(ids_by_key.size(), static_cast<size_t>(kKeys));
  for (const auto& [key, ids] : ids_by_key) EXPECT_EQ(ids.size(), 1u) << key;
  EXPECT_EQ(Charges(), static_cast<uint64_t>(kKeys));
}

}  // namespace
}  // namespace percore::payment_test
