#pragma once
// Threading contract: one PaymentService per process, shared by every shard. SetShardCount() on
// the control thread before the shards start; StartShard() once on each shard's thread before it
// serves; every operation from a shard thread, its `done` run exactly once on that same thread
// (inline or later). Each shard's part (PaymentShard) is touched only by that shard: other shards
// reach it through Sharded<PaymentShard>::InvokeOn / RunOn.
//
// payment.v1.PaymentService over the deterministic processor simulator, as an API without gRPC:
// what the gRPC adapter (PaymentHandler), the gateway and other services in this process (as
// clients::PaymentClient) call. Where things live:
//   - a payment on shard ShardFor(idempotency_key), in that shard's PaymentLedger; its
//     transaction id is drawn so ShardFor(transaction_id) is the same shard, so GetPayment
//     and RefundPayment go straight there;
//   - a call waiting for the processor (tok_slow, tok_timeout) on the shard it was made on (its
//     "home"), parked with its `done` and its deadline timer under a ticket; the owner keeps
//     (home, ticket) as a waiter of the in-flight payment and answers it with a RunOn to home.
//     Only ids and owned messages cross shards, never a call handle.
// Exactly one charge per idempotency key: the first request starts the payment on the owner;
// duplicates that arrive while the processor works join it as waiters and get its answer; later
// ones get the record.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "core/base/result.h"
#include "core/durability/durability_config.h"
#include "core/durability/store_journal.h"
#include "core/runtime/sharded.h"
#include "payment/v1/payment.pb.h"
#include "services/clients/payment_client.h"
#include "services/payment/payment_journal.h"
#include "services/payment/payment_ledger.h"
#include "services/payment/payment_snapshot_source.h"
#include "services/payment/processor_simulator.h"
#include "services/payment/transaction_id.h"

namespace percore::payment {

struct PaymentServiceOptions {
  // How long the processor takes to approve tok_slow.
  std::chrono::milliseconds slow_delay{200};
  // The longest a call waits for the processor, whatever the caller's deadline (tok_timeout
  // is held until min(deadline, max_hold), then answered DEADLINE_EXCEEDED).
  std::chrono::milliseconds max_hold{30'000};
  // Where payments are kept durably (off: in memory only). See payment_journal.h.
  durability::DurabilityConfig durability{};
};

using Done = std::function<void(Result<v1::PaymentResult>)>;

// One shard's part of the service: the ledger of the payments it owns, its processor and id
// generator, and the calls made on this shard that wait for the processor.
struct PaymentShard {
  // A call of this shard waiting for the processor's answer.
  struct WaitingCall {
    Done done;
    runtime::TimerId deadline_timer = 0;
    runtime::ShardId owner = 0;
    std::string idempotency_key;
    bool held = false;  // tok_timeout: the processor will never answer
  };

  PaymentShard(runtime::Shard& shard, const PaymentServiceOptions& options);
  runtime::Shard& shard;
  ProcessorSimulator processor;
  PaymentLedger ledger;
  TransactionIdGenerator ids;
  uint64_t next_ticket = 1;
  std::unordered_map<uint64_t, WaitingCall> waiting;
  durability::StoreJournal journal;               // off without a data directory
  PaymentSnapshotSource snapshot_source{ledger};  // snapshots while serving
  std::string retention_cursor;                   // payment_retention.h
  // Payments whose transaction id hashes here but whose record lives on another shard
  // (recovered for a different --shards than they were made with): id -> the record's shard.
  std::unordered_map<std::string, runtime::ShardId> moved;
};

class PaymentService final : public clients::PaymentClient {
 public:
  explicit PaymentService(PaymentServiceOptions options = {}) : options_(options) {}

  void SetShardCount(size_t shards) { shards_.SetShardCount(shards); }
  // Control thread, before the shards start, when options().durability is enabled: recovers the
  // payments for `shards` shards (payment_journal.h); StartShard then loads each shard's part.
  Status Recover(size_t shards, std::string* report);
  // Control thread, after the runtime's threads are joined: syncs and stops every shard's log.
  void CloseJournals();
  void StartShard(runtime::Shard& shard);
  const PaymentServiceOptions& options() const { return options_; }
  runtime::Sharded<PaymentShard>& shards() { return shards_; }

  // Returns a ticket for Abandon while the call waits for the processor (0 when it was answered
  // at once). The wait ends by `deadline` at the latest (at most max_hold).
  uint64_t ProcessPayment(const v1::ProcessPaymentRequest& request,
                          std::chrono::system_clock::time_point deadline, Done done);
  void RefundPayment(const v1::RefundPaymentRequest& request, Done done);
  void GetPayment(const v1::GetPaymentRequest& request, Done done);
  void VoidPayment(const v1::VoidPaymentRequest& request, Done done);
  // Ends a waiting call of this shard with `status` (its caller is gone or gave up) and tells
  // the owner it no longer waits. No-op for a ticket already answered.
  void Abandon(uint64_t ticket, const Status& status);
  // Shutdown began: this shard's calls held for a processor that never answers end UNAVAILABLE.
  void Drain();

  // clients::PaymentClient: the same operations for other services in this process.
  // CallOptions.deadline bounds the wait for the processor as a client's gRPC deadline does;
  // refunds and voids answer at once, so there is nothing for it to bound.
  void ProcessPayment(v1::ProcessPaymentRequest request, const clients::CallOptions& options,
                      clients::Done<v1::PaymentResult> done) override;
  void RefundPayment(v1::RefundPaymentRequest request, const clients::CallOptions& options,
                     clients::Done<v1::PaymentResult> done) override;
  void VoidPayment(v1::VoidPaymentRequest request, const clients::CallOptions& options,
                   clients::Done<v1::PaymentResult> done) override;

 private:
  // On the owner of the key; `reply` once what it recorded is durable.
  void Begin(PaymentShard& owner, PaymentAttempt&& attempt, const Waiter& waiter,
             std::function<void(Result<Begun>)> reply);
  void ProcessorAnswered(PaymentShard& owner, const std::string& idempotency_key);
  void SendAnswer(const Waiter& waiter, const Result<v1::PaymentResult>& answer);
  NewTransactionId IdsOf(PaymentShard& owner);

  // On the home shard.
  void Answer(PaymentShard& home, uint64_t ticket, Result<v1::PaymentResult> answer);
  void StartDeadline(uint64_t ticket, runtime::Clock::time_point hold_until);
  // The answer of a lookup on the owner: the payment, or NOT_FOUND with `not_found`.
  void Lookup(runtime::ShardId owner, std::function<const v1::PaymentResult*(PaymentLedger&)> find,
              std::string not_found, Done done);
  // fn(owner, reply) on the shard of transaction `id` (following a moved id once).
  using OnOwner = std::function<void(PaymentShard&, Done)>;
  void OnTransaction(runtime::ShardId shard, std::string id, OnOwner fn, Done done, bool followed);

  runtime::ShardId OwnerOf(std::string_view key) const { return shards_.ShardFor(key); }

  PaymentServiceOptions options_;
  runtime::Sharded<PaymentShard> shards_;
  std::vector<PaymentRestore> restore_;  // by shard, from Recover(); each taken by StartShard
};

}  // namespace percore::payment
