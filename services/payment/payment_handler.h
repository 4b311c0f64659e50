#pragma once
// Threading contract: one PaymentHandler per shard (rpc::ServiceDef), used only on its shard.
// A handler reaches another shard's ledger only by a hop that runs an op there; answers come
// back to the shard the call arrived on (its "home") as owned messages.
//
// payment.v1.PaymentService over the deterministic processor simulator. Where things live:
//   - a payment on shard ShardFor(idempotency_key), in that shard's PaymentLedger; its
//     transaction id is drawn so ShardFor(transaction_id) is the same shard, so GetPayment
//     and RefundPayment hop straight there;
//   - a call waiting for the processor (tok_slow, tok_timeout) on its home shard, as a ticket
//     with its `done` and its deadline timer; the owner keeps (home, ticket) as a waiter of the
//     in-flight payment and sends the answer home. Only ids cross shards, never a call handle.
// Exactly one charge per idempotency key: the first request starts the payment on the owner;
// duplicates that arrive while the processor works join it as waiters and get its answer; later
// ones get the record. The RPC methods and LocalPaymentClient share one core (Process, Refund,
// Get): the RPC method parses, calls the core, and finishes the call from `done`.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "core/base/status.h"
#include "core/rpc/service_def.h"
#include "core/runtime/runtime.h"
#include "payment/v1/payment.pb.h"
#include "services/clients/call_options.h"
#include "services/payment/payment_ledger.h"
#include "services/payment/processor_simulator.h"
#include "services/payment/transaction_id.h"

namespace percore::payment {

namespace v1 = ::payment::v1;

struct PaymentServiceOptions {
  // How long the processor takes to approve tok_slow.
  std::chrono::milliseconds slow_delay{200};
  // The longest a call waits for the processor, whatever the caller's deadline (tok_timeout
  // is held until min(deadline, max_hold), then answered DEADLINE_EXCEEDED).
  std::chrono::milliseconds max_hold{30'000};
};

class PaymentHandler {
 public:
  using Def = rpc::ServiceDef<PaymentHandler>;
  using Done = clients::Done<v1::PaymentResult>;

  PaymentHandler(runtime::Shard& shard, Def* def, PaymentServiceOptions options);

  // The RPC methods.
  void ProcessPayment(rpc::UnaryCall<v1::ProcessPaymentRequest, v1::PaymentResult> call);
  void RefundPayment(rpc::UnaryCall<v1::RefundPaymentRequest, v1::PaymentResult> call);
  void GetPayment(rpc::UnaryCall<v1::GetPaymentRequest, v1::PaymentResult> call);
  void VoidPayment(rpc::UnaryCall<v1::VoidPaymentRequest, v1::PaymentResult> call);
  // Shutdown began: calls held for a processor that never answers end with UNAVAILABLE.
  void OnDrain();

  // The core, for the RPC methods and LocalPaymentClient. On this shard's thread; `done` runs
  // exactly once on this shard's thread, perhaps inline. Process returns a ticket for Abandon
  // while the call waits for the processor (0 when it was answered at once).
  uint64_t Process(const v1::ProcessPaymentRequest& request,
                   std::chrono::system_clock::time_point deadline, Done done);
  void Refund(const v1::RefundPaymentRequest& request, Done done);
  void Get(const v1::GetPaymentRequest& request, Done done);
  void Void(const v1::VoidPaymentRequest& request, Done done);
  // Ends a waiting call with `status` (its caller is gone or gave up) and tells the owner it no
  // longer waits. No-op for a ticket already answered.
  void Abandon(uint64_t ticket, const Status& status);

  // For tests and metrics (this shard only): the ledger of the payments this shard owns,
  // approved payments made here, calls of this shard waiting for the processor.
  const PaymentLedger& ledger() const { return ledger_; }
  uint64_t charges() const { return ledger_.charges(); }
  size_t waiting_calls() const { return waiting_.size(); }

 private:
  // A call of this shard waiting for the processor's answer.
  struct WaitingCall {
    Done done;
    runtime::TimerId deadline_timer = 0;
    runtime::ShardId owner = 0;
    std::string idempotency_key;
    bool held = false;  // tok_timeout: the processor will never answer
  };
  // What the owner says to a new request: an answer now, or "wait" (the call is a waiter).
  struct Begun {
    Status status;
    v1::PaymentResult result;
    bool waiting = false;
  };

  // Owner side (the shard of the idempotency key).
  Begun Begin(PaymentAttempt attempt, Waiter waiter);
  void ProcessorAnswered(const std::string& idempotency_key);
  Begun VoidKey(const std::string& idempotency_key);
  void GetByKey(const std::string& idempotency_key, Done done);
  const v1::PaymentResult& RecordAnswer(PaymentAttempt attempt, const ProcessorAnswer& answer);
  void SendAnswer(const Waiter& waiter, const Status& status, v1::PaymentResult result);

  // Home side (the shard the call arrived on).
  void Answer(uint64_t ticket, const Status& status, v1::PaymentResult result);
  void StartDeadline(uint64_t ticket, std::chrono::system_clock::time_point deadline);
  runtime::ShardId OwnerOf(std::string_view key) const;

  runtime::Shard& shard_;
  runtime::Runtime& runtime_;
  Def* def_;
  PaymentServiceOptions options_;
  ProcessorSimulator processor_;
  PaymentLedger ledger_;
  TransactionIdGenerator ids_;
  uint64_t next_ticket_ = 1;
  std::unordered_map<uint64_t, WaitingCall> waiting_;
};

std::shared_ptr<PaymentHandler::Def> MakePaymentService(PaymentServiceOptions options = {});

}  // namespace percore::payment
