#pragma once
// Threading contract: one PaymentLedger per shard, inside that shard's PaymentShard; every member
// is used only on that shard's thread. Other shards reach it through Sharded::InvokeOn.
//
// The payments this shard owns: those whose idempotency key hashes here (ShardFor), and so,
// by construction of their ids, whose transaction id hashes here too. Two kinds of entry:
//   - a record: the processor answered (APPROVED or DECLINED, later perhaps REFUNDED); kept by
//     transaction id, with an index from idempotency key to transaction id;
//   - an in-flight payment: the processor has not answered yet (tok_slow, tok_timeout), with the
//     calls waiting for its answer. A key is in at most one of the two.
// The store layer of payment.v1: pure data and ops (Dragonfly's "ops") returning Result, with the
// time as `now` and new transaction ids from the caller; no timers, no hops, no gRPC. The service
// API (PaymentService) decides when things happen and carries answers between shards.

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/base/result.h"
#include "core/runtime/shard.h"
#include "payment/v1/payment.pb.h"
#include "services/payment/payment_attempt.h"
#include "services/payment/processor_simulator.h"

namespace percore::payment {

namespace v1 = ::payment::v1;

// A call waiting for a payment's answer: the shard it came in on and its ticket there (the call
// parked on that shard, PaymentShard::waiting).
struct Waiter {
  runtime::ShardId home = 0;
  uint64_t ticket = 0;
  bool operator==(const Waiter&) const = default;
};

struct InFlightPayment {
  PaymentAttempt attempt;
  ProcessorAnswer answer;  // what the processor will say (kNever: it will not)
  std::vector<Waiter> waiters;
  // VoidPayment came while the processor worked: an approval is refunded as it is recorded.
  bool void_on_answer = false;
};

// What the owner of a key says to a ProcessPayment (Begin).
struct Begun {
  enum Kind { kAnswer, kWait, kStarted } kind = kAnswer;
  v1::PaymentResult result;  // kAnswer: the recorded payment (new or first)
  ProcessorAnswer answer;    // kStarted: when the processor will answer (a timer's delay)
};

// The processor answered an in-flight payment: what was recorded, and who waits for it.
struct Answered {
  v1::PaymentResult result;
  std::vector<Waiter> waiters;
};

using NewTransactionId = std::function<std::string()>;

class PaymentLedger {
 public:
  // Its indexes point into its own records: a copy would point into the original.
  PaymentLedger() = default;
  PaymentLedger(const PaymentLedger&) = delete;
  PaymentLedger& operator=(const PaymentLedger&) = delete;
  PaymentLedger(PaymentLedger&&) = default;
  PaymentLedger& operator=(PaymentLedger&&) = default;

  // ProcessPayment on the key's shard, given what the processor will answer: a retry of a
  // recorded key gets its record; a key in flight adds `waiter` (kWait); a new key is recorded at
  // once (kNow) or starts in flight with `waiter` (kStarted). FAILED_PRECONDITION for a retry
  // that changed order_id, amount or method (naming them, and both requests), and for a voided
  // key.
  Result<Begun> Begin(PaymentAttempt&& attempt, const ProcessorAnswer& answer, const Waiter& waiter,
                      const NewTransactionId& new_id, const google::protobuf::Timestamp& now);
  // The processor's answer for the in-flight payment of `idempotency_key` arrived at `now`:
  // recorded (and refunded at once when VoidPayment came meanwhile). nullopt when not in flight.
  std::optional<Answered> ProcessorAnswered(std::string_view idempotency_key,
                                            const NewTransactionId& new_id,
                                            const google::protobuf::Timestamp& now);

  // The recorded payment of an idempotency key or of a transaction id; nullptr if none. Valid
  // until the next change to this ledger.
  const v1::PaymentResult* FindByKey(std::string_view idempotency_key) const;
  const v1::PaymentResult* FindById(std::string_view transaction_id) const;
  // The request a recorded key was first made with (retries must repeat it).
  const PaymentAttempt* AttemptOfKey(std::string_view idempotency_key) const;
  bool HasTransactionId(std::string_view transaction_id) const {
    return records_.find(transaction_id) != records_.end();
  }

  // Records the processor's answer for `attempt` (its key must be neither recorded nor in
  // flight); an approved payment counts as a charge. Returns the stored result.
  const v1::PaymentResult& Record(PaymentAttempt&& attempt, v1::PaymentResult&& result);
  // Record of `answer` under transaction id `id`, processed at `now`.
  const v1::PaymentResult& RecordAnswer(PaymentAttempt&& attempt, const ProcessorAnswer& answer,
                                        std::string id, const google::protobuf::Timestamp& now);

  // APPROVED -> REFUNDED at `now`; REFUNDED stays as it is (idempotent). kNotFound for an
  // unknown id, kFailedPrecondition for a declined payment.
  Result<v1::PaymentResult> Refund(std::string_view transaction_id,
                                   const google::protobuf::Timestamp& now);

  // VoidPayment of a key with neither a record nor a payment the processor will answer: a later
  // ProcessPayment with it is refused, so a request still on its way cannot charge.
  void VoidKey(std::string_view idempotency_key) { voided_keys_.emplace(idempotency_key); }
  bool IsVoided(std::string_view idempotency_key) const {
    return voided_keys_.find(idempotency_key) != voided_keys_.end();
  }

  // VoidPayment's op (payment.proto): afterwards no charge stands for the key. A recorded
  // approval is refunded at `now` (REFUNDED); a declined or refunded record is returned as it
  // is; a payment the processor will still answer is marked void_on_answer, and a key with
  // neither is voided (VoidKey): both answer PAYMENT_STATUS_VOIDED.
  v1::PaymentResult Void(std::string_view idempotency_key, const google::protobuf::Timestamp& now);

  InFlightPayment* FindInFlight(std::string_view idempotency_key);
  InFlightPayment& StartInFlight(PaymentAttempt attempt, ProcessorAnswer answer);
  // Removes and returns the in-flight payment of `idempotency_key`, if any.
  std::optional<InFlightPayment> TakeInFlight(std::string_view idempotency_key);
  // `waiter` stopped waiting (answered otherwise, cancelled, drained). A payment the processor
  // will never answer is forgotten with its last waiter, so a later retry starts afresh; one
  // that will be answered stays until it is.
  // True when that forgot the payment.
  bool DropWaiter(std::string_view idempotency_key, const Waiter& waiter);

  // Recovery (payment_journal.h): a record as it was stored. Counts neither charge nor refund:
  // those count what this process's processor did.
  void Restore(PaymentAttempt attempt, v1::PaymentResult result);

  // Retention (--idempotency-retention): forgets up to `limit` records looked at after
  // transaction id `*cursor` (from the first when empty) whose last change (refunded_at, else
  // processed_at) is before `cutoff` (ns since the epoch), and their keys: a ProcessPayment with
  // such a key is then a new payment. Their ids go to `dropped`. True while more are left
  // (`*cursor` says where), false at the end (`*cursor` cleared).
  bool ForgetSettled(int64_t cutoff, size_t limit, std::string* cursor,
                     std::vector<std::string>* dropped);
  static bool Forgettable(const v1::PaymentResult& result, int64_t cutoff);

  // Snapshots (payment_snapshot_source.h): fn(id, attempt, result) for up to `limit` records
  // after transaction id `after` (from the first when nullptr), ascending; how many.
  size_t ScanRecords(const std::string* after, size_t limit,
                     const std::function<void(const std::string&, const PaymentAttempt&,
                                              const v1::PaymentResult&)>& fn) const;
  const std::map<std::string, InFlightPayment, std::less<>>& in_flight_payments() const {
    return in_flight_;
  }
  const std::set<std::string, std::less<>>& voided_keys() const { return voided_keys_; }

  // Approved payments this shard's processor made (refunds do not undo the count).
  uint64_t charges() const { return charges_; }
  uint64_t refunds() const { return refunds_; }
  size_t size() const { return records_.size(); }
  size_t in_flight() const { return in_flight_.size(); }

 private:
  struct Entry {
    PaymentAttempt attempt;
    v1::PaymentResult result;
  };
  // Stores `attempt` and `result` under the result's transaction id, replacing a record with that
  // id, and indexes it by its idempotency key.
  Entry& Store(PaymentAttempt&& attempt, v1::PaymentResult&& result);
  const Entry* EntryOfKey(std::string_view idempotency_key) const;
  // Drops the key index of `entry` (if the key still names it) before the entry goes.
  void Unindex(const Entry& entry);

  // By transaction id, ordered for the snapshot's and retention's cursors. A node's entry stays
  // where it is until erased (a refund changes it in place), which by_key_ relies on.
  std::map<std::string, Entry, std::less<>> records_;
  // Idempotency key -> its record: the key viewed in the record's own attempt (one hash insert
  // per payment, no string copies).
  absl::flat_hash_map<std::string_view, Entry*> by_key_;
  std::map<std::string, InFlightPayment, std::less<>> in_flight_;  // by idempotency key
  std::set<std::string, std::less<>> voided_keys_;
  uint64_t charges_ = 0;
  uint64_t refunds_ = 0;
};

}  // namespace percore::payment
