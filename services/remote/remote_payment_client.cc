#include "services/remote/remote_payment_client.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/storage/partition_of.h"

namespace percore::remote {
namespace {

using ::payment::v1::PaymentResult;

// How much a replica's answer to VoidPayment says: a refund (the charge was there) over a
// decline over a void (the replica never charged).
int Weight(const PaymentResult& result) {
  switch (result.status()) {
    case PaymentResult::PAYMENT_STATUS_REFUNDED:
      return 3;
    case PaymentResult::PAYMENT_STATUS_DECLINED:
      return 2;
    default:
      return 1;
  }
}

using Answer = std::pair<Status, PaymentResult>;

// Sends one call to every replica and, once all have answered, `done` gets what fold(answers)
// picks. Every answer comes back on the calling shard's thread, so the tally needs no lock.
template <class Replicas, class Prepare, class Fold>
void CallEveryReplica(Replicas& replicas, size_t method, const clients::CallOptions& options,
                      clients::Done<PaymentResult> done, Prepare& prepare, Fold fold) {
  struct Tally {
    std::vector<Answer> answers;
    size_t waiting;
    clients::Done<PaymentResult> done;
    Fold fold;
  };
  auto tally =
      std::make_shared<Tally>(Tally{{}, replicas.size(), std::move(done), std::move(fold)});
  for (auto& replica : replicas) {
    replica->template Call<PaymentResult>(
        method, options,
        [tally](const Status& status, PaymentResult result) {
          tally->answers.emplace_back(status, std::move(result));
          if (--tally->waiting > 0) return;
          Answer answer = tally->fold(std::move(tally->answers));
          tally->done(answer.first, std::move(answer.second));
        },
        prepare);
  }
}

// An answer only the replica holding the transaction gives: it is there and cannot be refunded.
bool IsDefiniteRefusal(StatusCode code) {
  return code == StatusCode::kFailedPrecondition || code == StatusCode::kInvalidArgument;
}

// The replica that owns an idempotency key: the same in every order process and after a restart
// (a pinned hash, partition_of.h), re-mixed with a salt of its own so that the replicas' split
// is independent of their shards' (`StableHash64 % shards`).
size_t OwnerReplica(const std::string& key, size_t replicas) {
  constexpr uint64_t kReplicaSalt = 0x2545f4914f6cdd1dULL;
  return static_cast<size_t>(storage::internal::Fmix64(storage::StableHash64(key) ^ kReplicaSalt) %
                             replicas);
}

// A call to one replica waits (within its deadline) for the replica to be reachable instead of
// failing at once: only that replica can answer for its keys and its ledger, and one that was
// just restarted is reconnected to soon (Options: 100 ms after the loss, then gRPC's backoff).
clients::CallOptions ToReplica(const clients::CallOptions& options) {
  clients::CallOptions to_replica = options;
  to_replica.wait_for_ready = true;
  return to_replica;
}

}  // namespace

RemotePaymentClient::RemotePaymentClient(std::shared_ptr<RemotePeer> peer)
    : stubs_(std::move(peer), clients::kPaymentMethods) {
  const std::vector<std::string>& addresses = stubs_.peer().addresses();
  if (addresses.size() < 2) return;
  for (const std::string& address : addresses) {
    std::string error;
    std::shared_ptr<RemotePeer> replica = RemotePeer::Create(Options({address}), &error);
    // The address already resolved as part of the whole peer; if it now fails, the void goes
    // through the balanced channel alone (and a replica it misses keeps its charge).
    if (!replica) {
      replicas_.clear();
      return;
    }
    replicas_.push_back(std::make_unique<Stubs>(std::move(replica), clients::kPaymentMethods));
  }
}

std::vector<std::shared_ptr<RemotePeer>> RemotePaymentClient::replica_peers() const {
  std::vector<std::shared_ptr<RemotePeer>> peers;
  for (const auto& replica : replicas_) peers.push_back(replica->shared_peer());
  return peers;
}

PeerOptions RemotePaymentClient::Options(std::vector<std::string> addresses) {
  PeerOptions options;
  options.service = "payment.v1.PaymentService";
  options.addresses = std::move(addresses);
  options.retryable_methods = {"ProcessPayment", "RefundPayment", "VoidPayment"};
  // A key's charge waits for its replica (ToReplica): one that restarts is reconnected to
  // within a few hundred ms of being back, well inside the payment step's budget, however long
  // it was away (the backoff grows 1.6x an attempt: without the cap a replica back after 1.6 s
  // would wait ~1 s more for the next attempt, half the step's 2 s).
  options.initial_reconnect_backoff_ms = 100;
  options.max_reconnect_backoff_ms = 500;
  return options;
}

void RemotePaymentClient::ProcessPayment(::payment::v1::ProcessPaymentRequest request,
                                         const clients::CallOptions& options,
                                         clients::Done<PaymentResult> done) {
  auto prepare = [&](auto& stub, auto* context, auto* cq) {
    return stub.PrepareAsyncProcessPayment(context, request, cq);
  };
  if (replicas_.empty()) {
    stubs_.Call<PaymentResult>(kProcessPayment, options, std::move(done), prepare);
    return;
  }
  // Each replica keeps its own ledger, so a key's charge must always reach the same one: a
  // replica killed after its approval was durable but before it answered fails the call
  // UNAVAILABLE, and a retry that round_robin sent to another replica was approved there too
  // (two charges for one order, soak seed 103). The retries of the owner's own peer go to the
  // owner alone, which answers the approval it recorded; while it is down the call waits for it
  // within its deadline, then fails, and the saga settles the key by VoidPayment on every
  // replica.
  replicas_[OwnerReplica(request.idempotency_key(), replicas_.size())]->Call<PaymentResult>(
      kProcessPayment, ToReplica(options), std::move(done), prepare);
}

void RemotePaymentClient::RefundPayment(::payment::v1::RefundPaymentRequest request,
                                        const clients::CallOptions& options,
                                        clients::Done<PaymentResult> done) {
  auto prepare = [&](auto& stub, auto* context, auto* cq) {
    return stub.PrepareAsyncRefundPayment(context, request, cq);
  };
  if (replicas_.empty()) {
    stubs_.Call<PaymentResult>(kRefundPayment, options, std::move(done), prepare);
    return;
  }
  // Only the replica that charged knows the transaction; the others answer NOT_FOUND. So the
  // refund goes to each, and the owner's answer (a refund, or why it cannot be refunded) wins;
  // NOT_FOUND only when every replica said so. Through the balanced channel alone, a refund
  // reached the wrong replica about half the time and the charge was kept (soak, 2026-12-02).
  CallEveryReplica(replicas_, kRefundPayment, ToReplica(options), std::move(done), prepare,
                   [transaction = request.transaction_id()](std::vector<Answer> answers) {
                     Answer owner_refusal, unsure;  // unsure: a replica that may be the owner
                     for (Answer& answer : answers) {
                       StatusCode code = answer.first.code();
                       if (answer.first.ok()) return std::move(answer);
                       if (IsDefiniteRefusal(code)) {
                         owner_refusal = std::move(answer);
                       } else if (code != StatusCode::kNotFound && unsure.first.ok()) {
                         unsure = std::move(answer);
                       }
                     }
                     if (!owner_refusal.first.ok()) return owner_refusal;
                     if (!unsure.first.ok()) return unsure;
                     return Answer(Status(StatusCode::kNotFound, "transaction_id \"" + transaction +
                                                                     "\" not found on any replica"),
                                   PaymentResult());
                   });
}

void RemotePaymentClient::VoidPayment(::payment::v1::VoidPaymentRequest request,
                                      const clients::CallOptions& options,
                                      clients::Done<PaymentResult> done) {
  auto prepare = [&](auto& stub, auto* context, auto* cq) {
    return stub.PrepareAsyncVoidPayment(context, request, cq);
  };
  if (replicas_.empty()) {
    stubs_.Call<PaymentResult>(kVoidPayment, options, std::move(done), prepare);
    return;
  }
  // One replica unsure: all unsure (the void must be retried); else the weightiest answer.
  CallEveryReplica(replicas_, kVoidPayment, ToReplica(options), std::move(done), prepare,
                   [](std::vector<Answer> answers) {
                     Answer best;
                     for (Answer& answer : answers) {
                       if (!answer.first.ok()) return Answer(answer.first, PaymentResult());
                       if (best.second.idempotency_key().empty() ||
                           Weight(answer.second) > Weight(best.second)) {
                         best = std::move(answer);
                       }
                     }
                     return best;
                   });
}

}  // namespace percore::remote
