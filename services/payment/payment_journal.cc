#include "services/payment/payment_journal.h"

#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <map>
#include <random>
#include <set>

#include "core/durability/record_codec.h"
#include "core/durability/store_journal.h"
#include "core/runtime/shard_for.h"
#include "services/payment/payment_ledger.h"
#include "services/payment/transaction_id.h"

namespace percore::payment {

std::string EncodePayment(const PaymentAttempt& attempt,
                          const ::payment::v1::PaymentResult* result) {
  durability::RecordEncoder out;
  out.Str(attempt.order_id)
      .I64(attempt.amount_minor)
      .Str(attempt.currency)
      .U32(static_cast<uint32_t>(attempt.token))
      .Str(attempt.idempotency_key);
  if (result != nullptr) result->AppendToString(&out.bytes());
  return out.Take();
}

bool DecodePayment(std::string_view payload, PaymentAttempt* attempt,
                   ::payment::v1::PaymentResult* result) {
  durability::RecordDecoder in(payload);
  uint32_t token = 0;
  if (!in.Str(&attempt->order_id) || !in.I64(&attempt->amount_minor) ||
      !in.Str(&attempt->currency) || !in.U32(&token) || !in.Str(&attempt->idempotency_key) ||
      token > static_cast<uint32_t>(TestToken::kTimeout)) {
    return false;
  }
  attempt->token = static_cast<TestToken>(token);
  if (result == nullptr) return in.rest().empty();
  return result->ParseFromArray(in.rest().data(), static_cast<int>(in.rest().size()));
}

Result<std::vector<PaymentRestore>> RecoverPayments(const durability::DurabilityConfig& config,
                                                    size_t shards, int64_t now_nanos,
                                                    std::string* report) {
  // A key's whole history is in one old shard's files, so the order between shards is free.
  std::map<std::string, RecoveredPayment> payments;  // by transaction id
  std::map<std::string, std::string> id_of_key;
  std::map<std::string, PaymentAttempt> in_flight;  // by idempotency key
  std::set<std::string> voided;
  durability::ReplayStats stats;
  Result<durability::GenerationDir> dir = durability::ReplayStore(
      config, "payments",
      [&](uint32_t, uint32_t type, std::string_view payload) -> Status {
        auto damaged = [type] {
          return Status(StatusCode::kDataLoss,
                        "a damaged payment record (type " + std::to_string(type) + ")");
        };
        switch (type) {
          case kPaymentPut: {
            RecoveredPayment payment;
            if (!DecodePayment(payload, &payment.attempt, &payment.result) ||
                payment.result.transaction_id().empty()) {
              return damaged();
            }
            in_flight.erase(payment.attempt.idempotency_key);
            id_of_key[payment.attempt.idempotency_key] = payment.result.transaction_id();
            payments[payment.result.transaction_id()] = std::move(payment);
            return Status();
          }
          case kInFlight: {
            PaymentAttempt attempt;
            if (!DecodePayment(payload, &attempt, nullptr)) return damaged();
            in_flight[attempt.idempotency_key] = std::move(attempt);
            return Status();
          }
          case kInFlightDrop:
            in_flight.erase(std::string(payload));
            return Status();
          case kKeyVoided:
            voided.emplace(payload);
            return Status();
          case kPaymentDrop: {
            auto it = payments.find(std::string(payload));
            if (it != payments.end()) {
              id_of_key.erase(it->second.attempt.idempotency_key);
              payments.erase(it);
            }
            return Status();
          }
          default:
            return Status(StatusCode::kDataLoss,
                          "a record percore does not know (type " + std::to_string(type) + ")");
        }
      },
      report, &stats);
  if (!dir.ok()) return dir.status();

  // The safe rule (payment_journal.h): an unanswered payment is recorded VOIDED.
  TransactionIdGenerator ids(std::random_device{}());
  for (auto& [key, attempt] : in_flight) {
    if (id_of_key.contains(key)) continue;
    size_t shard = runtime::ShardFor(key, shards);
    std::string id = ids.Next([&](const std::string& candidate) {
      return runtime::ShardFor(candidate, shards) == shard && !payments.contains(candidate);
    });
    RecoveredPayment payment{attempt, {}};
    payment.result.set_status(::payment::v1::PaymentResult::PAYMENT_STATUS_VOIDED);
    payment.result.set_transaction_id(id);
    payment.result.set_order_id(attempt.order_id);
    payment.result.mutable_amount()->set_amount_minor(attempt.amount_minor);
    payment.result.mutable_amount()->set_currency(attempt.currency);
    payment.result.set_decline_reason(std::string(kVoidedAtRecovery));
    payment.result.set_idempotency_key(key);
    *payment.result.mutable_processed_at() =
        google::protobuf::util::TimeUtil::NanosecondsToTimestamp(now_nanos);
    *report += "payments: idempotency_key \"" + key +
               "\" had no processor answer at the crash; recorded VOIDED as " + id + "\n";
    id_of_key[key] = id;
    payments[id] = std::move(payment);
  }

  // Retention: records past it are not resurrected.
  size_t forgotten = 0;
  if (config.idempotency_retention.count() > 0) {
    const int64_t cutoff =
        now_nanos - std::chrono::nanoseconds(config.idempotency_retention).count();
    for (auto it = payments.begin(); it != payments.end();) {
      if (PaymentLedger::Forgettable(it->second.result, cutoff)) {
        id_of_key.erase(it->second.attempt.idempotency_key);
        it = payments.erase(it);
        ++forgotten;
      } else {
        ++it;
      }
    }
  }

  std::vector<PaymentRestore> restore(shards);
  std::vector<std::vector<durability::SnapshotRecord>> snapshots(shards);
  for (auto& [id, payment] : payments) {
    size_t shard = runtime::ShardFor(payment.attempt.idempotency_key, shards);
    size_t id_shard = runtime::ShardFor(id, shards);
    if (id_shard != shard) restore[id_shard].moved.emplace(id, shard);
    snapshots[shard].emplace_back(kPaymentPut, EncodePayment(payment.attempt, &payment.result));
    restore[shard].payments.push_back(std::move(payment));
  }
  for (const std::string& key : voided) {
    if (id_of_key.contains(key)) continue;  // a record stands for it
    size_t shard = runtime::ShardFor(key, shards);
    snapshots[shard].emplace_back(kKeyVoided, key);
    restore[shard].voided_keys.push_back(key);
  }
  Result<std::vector<durability::LogFile>> logs = WriteNextGeneration(*dir, snapshots);
  if (!logs.ok()) return logs.status();
  for (size_t shard = 0; shard < shards; ++shard) restore[shard].log = std::move((*logs)[shard]);
  *report += "payments: recovered " + std::to_string(payments.size()) + " payments (" +
             std::to_string(forgotten) + " past retention dropped) and " +
             std::to_string(voided.size()) + " voided keys from " + std::to_string(stats.records) +
             " records for " + std::to_string(shards) + " shards\n";
  return restore;
}

}  // namespace percore::payment
