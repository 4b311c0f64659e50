// The payment journal alone: its records' encoding, and recovery from real files — replay, the
// safe rule for payments the processor had not answered, and re-placement for another shard
// count with forwards for transaction ids.

#include "services/payment/payment_journal.h"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>

#include "core/runtime/shard_for.h"
#include "tests/core/durability/append_records.h"
#include "tests/core/durability/journal_config.h"
#include "tests/core/durability/temp_dir.h"

namespace percore::payment {
namespace {

namespace v1 = ::payment::v1;
constexpr int64_t kNow = 1'700'000'000'000'000'000;
using testing::JournalConfig;
using testing::kHourNanos;

PaymentAttempt Attempt(const std::string& key, TestToken token) {
  return PaymentAttempt{"order-" + key, 1299, "EUR", token, key};
}

std::string Put(const PaymentAttempt& attempt, const std::string& id,
                v1::PaymentResult::PaymentStatus status) {
  v1::PaymentResult result;
  result.set_status(status);
  result.set_transaction_id(id);
  result.set_order_id(attempt.order_id);
  result.set_idempotency_key(attempt.idempotency_key);
  return EncodePayment(attempt, &result);
}

struct Placed {
  size_t shard;
  RecoveredPayment payment;
};

std::map<std::string, Placed> ByKey(const std::vector<PaymentRestore>& restore) {
  std::map<std::string, Placed> found;
  for (size_t shard = 0; shard < restore.size(); ++shard) {
    for (const RecoveredPayment& payment : restore[shard].payments) {
      found[payment.attempt.idempotency_key] = {shard, payment};
    }
  }
  return found;
}

TEST(PaymentJournalTest, PaymentRecordsRoundTripAndDamageIsRefused) {
  PaymentAttempt attempt = Attempt("k1", TestToken::kSlow);
  v1::PaymentResult result;
  result.set_status(v1::PaymentResult::PAYMENT_STATUS_REFUNDED);
  result.set_transaction_id("txn_00000000000000a1");
  std::string bytes = EncodePayment(attempt, &result);
  PaymentAttempt back;
  v1::PaymentResult back_result;
  ASSERT_TRUE(DecodePayment(bytes, &back, &back_result));
  EXPECT_TRUE(DifferingFields(attempt, back).empty());
  EXPECT_EQ(back.idempotency_key, "k1");
  EXPECT_EQ(back_result.transaction_id(), "txn_00000000000000a1");
  EXPECT_EQ(back_result.status(), v1::PaymentResult::PAYMENT_STATUS_REFUNDED);

  std::string in_flight = EncodePayment(attempt, nullptr);
  ASSERT_TRUE(DecodePayment(in_flight, &back, nullptr));
  EXPECT_FALSE(DecodePayment(std::string_view(in_flight).substr(0, 10), &back, nullptr));
  EXPECT_FALSE(DecodePayment(in_flight + "x", &back, nullptr));
}

TEST(PaymentJournalTest, RecoveryKeepsRecordsVoidsUnansweredPaymentsAndForwardsMovedIds) {
  testing::TempDir dir;
  std::string report;
  Result<std::vector<PaymentRestore>> first = RecoverPayments(JournalConfig(dir), 2, kNow, &report);
  ASSERT_TRUE(first.ok()) << first.message();
  PaymentAttempt approved = Attempt("approved", TestToken::kApprove);
  PaymentAttempt refunded = Attempt("refunded", TestToken::kApprove);
  PaymentAttempt slow = Attempt("slow-answered", TestToken::kSlow);
  PaymentAttempt unanswered = Attempt("slow-unanswered", TestToken::kSlow);
  PaymentAttempt dropped = Attempt("timeout-dropped", TestToken::kTimeout);
  testing::AppendRecords(
      *(*first)[0].log,
      {{kPaymentPut, Put(approved, "txn_1", v1::PaymentResult::PAYMENT_STATUS_APPROVED)},
       {kPaymentPut, Put(refunded, "txn_2", v1::PaymentResult::PAYMENT_STATUS_APPROVED)},
       {kPaymentPut, Put(refunded, "txn_2", v1::PaymentResult::PAYMENT_STATUS_REFUNDED)},
       {kInFlight, EncodePayment(slow, nullptr)},
       {kPaymentPut, Put(slow, "txn_3", v1::PaymentResult::PAYMENT_STATUS_APPROVED)},
       {kInFlight, EncodePayment(unanswered, nullptr)}});
  testing::AppendRecords(*(*first)[1].log, {{kInFlight, EncodePayment(dropped, nullptr)},
                                            {kInFlightDrop, "timeout-dropped"},
                                            {kKeyVoided, "voided-key"}});
  first->clear();  // closes the logs, as the crash did

  constexpr size_t kShards = 3;
  report.clear();
  Result<std::vector<PaymentRestore>> second =
      RecoverPayments(JournalConfig(dir), kShards, kNow, &report);
  ASSERT_TRUE(second.ok()) << second.message();
  std::map<std::string, Placed> found = ByKey(*second);
  ASSERT_EQ(found.size(), 4u) << report;  // the dropped one left nothing
  EXPECT_EQ(found["approved"].payment.result.status(), v1::PaymentResult::PAYMENT_STATUS_APPROVED);
  EXPECT_EQ(found["refunded"].payment.result.status(), v1::PaymentResult::PAYMENT_STATUS_REFUNDED);
  EXPECT_EQ(found["slow-answered"].payment.result.status(),
            v1::PaymentResult::PAYMENT_STATUS_APPROVED);
  // The safe rule: an unanswered payment is recorded VOIDED, under a transaction id of its shard.
  const RecoveredPayment& voided = found["slow-unanswered"].payment;
  EXPECT_EQ(voided.result.status(), v1::PaymentResult::PAYMENT_STATUS_VOIDED);
  EXPECT_EQ(voided.result.decline_reason(), kVoidedAtRecovery);
  EXPECT_EQ(voided.result.amount().amount_minor(), 1299);
  EXPECT_EQ(runtime::ShardFor(voided.result.transaction_id(), kShards),
            runtime::ShardFor("slow-unanswered", kShards));
  EXPECT_TRUE(DifferingFields(voided.attempt, unanswered).empty());
  EXPECT_NE(report.find("slow-unanswered"), std::string::npos) << report;
  for (const auto& [key, placed] : found) {
    EXPECT_EQ(placed.shard, runtime::ShardFor(key, kShards)) << key;
    const std::string& id = placed.payment.result.transaction_id();
    size_t by_id = runtime::ShardFor(id, kShards);
    if (by_id != placed.shard) {
      ASSERT_TRUE((*second)[by_id].moved.contains(id)) << id;
      EXPECT_EQ((*second)[by_id].moved.at(id), placed.shard);
    }
  }
  EXPECT_EQ((*second)[runtime::ShardFor("voided-key", kShards)].voided_keys,
            std::vector<std::string>{"voided-key"});

  // The snapshots of the new generation say the same; the voided payment keeps its id.
  std::string voided_id = voided.result.transaction_id();
  second->clear();
  Result<std::vector<PaymentRestore>> third = RecoverPayments(JournalConfig(dir), 1, kNow, &report);
  ASSERT_TRUE(third.ok()) << third.message();
  found = ByKey(*third);
  ASSERT_EQ(found.size(), 4u);
  EXPECT_EQ(found["slow-unanswered"].payment.result.transaction_id(), voided_id);
  EXPECT_EQ(found["refunded"].payment.result.status(), v1::PaymentResult::PAYMENT_STATUS_REFUNDED);
  EXPECT_EQ((*third)[0].voided_keys, std::vector<std::string>{"voided-key"});
}

TEST(PaymentJournalTest, RetentionDropsOldRecordsAndTheirDropRecordsReplay) {
  testing::TempDir dir;
  durability::DurabilityConfig config = JournalConfig(dir, std::chrono::hours(1));
  std::string report;
  Result<std::vector<PaymentRestore>> first = RecoverPayments(config, 1, kNow, &report);
  ASSERT_TRUE(first.ok()) << first.message();
  auto put = [](const PaymentAttempt& attempt, const std::string& id, int64_t processed,
                int64_t refunded) {
    v1::PaymentResult result;
    result.set_status(refunded ? v1::PaymentResult::PAYMENT_STATUS_REFUNDED
                               : v1::PaymentResult::PAYMENT_STATUS_APPROVED);
    result.set_transaction_id(id);
    result.set_idempotency_key(attempt.idempotency_key);
    *result.mutable_processed_at() =
        google::protobuf::util::TimeUtil::NanosecondsToTimestamp(processed);
    if (refunded) {
      *result.mutable_refunded_at() =
          google::protobuf::util::TimeUtil::NanosecondsToTimestamp(refunded);
    }
    return EncodePayment(attempt, &result);
  };
  testing::AppendRecords(
      *(*first)[0].log,
      {{kPaymentPut, put(Attempt("old", TestToken::kApprove), "txn_1", kNow - 2 * kHourNanos, 0)},
       // Paid long ago, refunded a minute ago: its last change is recent.
       {kPaymentPut, put(Attempt("refunded", TestToken::kApprove), "txn_2", kNow - 2 * kHourNanos,
                         kNow - kHourNanos / 60)},
       {kPaymentPut, put(Attempt("new", TestToken::kApprove), "txn_3", kNow, 0)},
       {kPaymentPut, put(Attempt("swept", TestToken::kApprove), "txn_4", kNow, 0)},
       {kPaymentDrop, "txn_4"}});
  first->clear();
  report.clear();
  Result<std::vector<PaymentRestore>> second = RecoverPayments(config, 1, kNow, &report);
  ASSERT_TRUE(second.ok()) << second.message();
  std::map<std::string, Placed> found = ByKey(*second);
  EXPECT_EQ(found.size(), 2u);
  EXPECT_TRUE(found.contains("refunded"));
  EXPECT_TRUE(found.contains("new"));
  EXPECT_NE(report.find("1 past retention dropped"), std::string::npos) << report;
}

}  // namespace
}  // namespace percore::payment
