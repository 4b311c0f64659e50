// Payment snapshots while serving (issue 10), on a real runtime and real files: a snapshot taken
// while payments are approved, declined, answered late (in flight across chunks), refunded and
// voided between its chunks, plus the log from its cut, recovers exactly the live ledger: every
// record, every voided key, and no payment voided at recovery.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "services/payment/payment_service.h"
#include "tests/core/durability/one_shard_service.h"
#include "tests/core/durability/temp_dir.h"

namespace percore::payment {
namespace {

struct State {
  std::map<std::string, std::string> records;  // transaction id -> attempt and result
  std::set<std::string> voided;
  bool operator==(const State&) const = default;
};

class PaymentSnapshotTest : public ::testing::Test {
 protected:
  static std::unique_ptr<PaymentService> Make(const durability::DurabilityConfig& config) {
    PaymentServiceOptions options;
    options.slow_delay = std::chrono::milliseconds(3);
    options.durability = config;
    return std::make_unique<PaymentService>(options);
  }
  PaymentShard& shard() { return on_.shard(); }

  // Shard thread: a call in flight until it is answered; approvals are remembered.
  Done Track() {
    ++on_.in_flight;
    return [this](Result<v1::PaymentResult> result) {
      --on_.in_flight;
      if (result.ok() && result->status() == v1::PaymentResult::PAYMENT_STATUS_APPROVED) {
        approved_.push_back(result->transaction_id());
      }
    };
  }
  // Shard thread: one random operation.
  void Operate(std::mt19937& rng) {
    static const char* kTokens[] = {"tok_approve", "tok_approve", "tok_decline", "tok_slow"};
    uint32_t op = rng() % 10;
    if (op < 7) {
      v1::ProcessPaymentRequest request;
      request.set_order_id("order-" + std::to_string(next_key_));
      request.set_idempotency_key("pay-" + std::to_string(next_key_++));
      request.mutable_amount()->set_amount_minor(100 + rng() % 10000);
      request.mutable_amount()->set_currency("EUR");
      request.mutable_method()->set_token(kTokens[rng() % 4]);
      on_.service().ProcessPayment(
          request, std::chrono::system_clock::now() + std::chrono::hours(1), Track());
    } else if (op < 9 && !approved_.empty()) {
      v1::RefundPaymentRequest request;
      size_t at = rng() % approved_.size();
      request.set_transaction_id(approved_[at]);
      approved_.erase(approved_.begin() + at);
      on_.service().RefundPayment(request, Track());
    } else {
      v1::VoidPaymentRequest request;  // a key paid, being paid, or never seen
      request.set_idempotency_key("pay-" + std::to_string(rng() % (next_key_ + 50)));
      on_.service().VoidPayment(request, Track());
    }
  }
  State Live() {
    return on_.Run([&] {
      State state;
      EXPECT_EQ(shard().ledger.in_flight(), 0u);
      shard().ledger.ScanRecords(nullptr, shard().ledger.size(),
                                 [&](const std::string& id, const PaymentAttempt& attempt,
                                     const v1::PaymentResult& result) {
                                   state.records[id] = EncodePayment(attempt, &result);
                                 });
      for (const std::string& key : shard().ledger.voided_keys()) {
        if (shard().ledger.FindByKey(key) == nullptr) state.voided.insert(key);
      }
      return state;
    });
  }

  testing::TempDir dir_;
  durability::DurabilityConfig config_ = testing::ManualSnapshotConfig(dir_.path());
  testing::OneShardService<PaymentService> on_{Make(config_)};
  // Shard thread.
  int next_key_ = 0;
  std::vector<std::string> approved_;
};

TEST_F(PaymentSnapshotTest, SnapshotWhilePayingAndTheLogAfterItsCutRecoverTheLiveLedger) {
  std::mt19937 rng(5);
  on_.Run([&] {
    for (int i = 0; i < 8000; ++i) Operate(rng);
    return 0;
  });
  on_.WaitIdle();

  size_t in_flight_seen = 0;
  const int steps = on_.SnapshotWhile([&] {
    in_flight_seen = std::max(in_flight_seen, shard().ledger.in_flight());
    for (int i = 0; i < 4; ++i) Operate(rng);
  });
  EXPECT_GT(steps, 5);  // chunks ran with payments between them
  EXPECT_GT(in_flight_seen, 0u);
  const durability::LogStats stats = on_.Run([&] { return *shard().journal.stats(); });
  EXPECT_EQ(stats.snapshots, 1u);
  EXPECT_GT(stats.last_snapshot_records, 5000u);
  on_.Run([&] {
    for (int i = 0; i < 300; ++i) Operate(rng);
    return 0;
  });
  on_.WaitIdle();
  const State live = Live();
  EXPECT_FALSE(live.voided.empty());
  on_.Stop();

  std::string report;
  Result<std::vector<PaymentRestore>> restore = RecoverPayments(config_, 1, 1, &report);
  ASSERT_TRUE(restore.ok()) << restore.message();
  EXPECT_EQ(report.find("no processor answer"), std::string::npos) << report;
  State recovered;
  for (const RecoveredPayment& payment : (*restore)[0].payments) {
    recovered.records[payment.result.transaction_id()] =
        EncodePayment(payment.attempt, &payment.result);
  }
  for (const std::string& key : (*restore)[0].voided_keys) recovered.voided.insert(key);
  EXPECT_EQ(recovered.records.size(), live.records.size());
  EXPECT_TRUE(recovered == live);
}

}  // namespace
}  // namespace percore::payment
