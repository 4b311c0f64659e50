#include "services/remote/remote_payment_client.h"

#include <memory>
#include <optional>
#include <string>

#include "core/base/status.h"

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

// An answer only the replica holding the transaction gives: it is there and cannot be refunded.
bool IsDefiniteRefusal(StatusCode code) {
  return code == StatusCode::kFailedPrecondition || code == StatusCode::kInvalidArgument;
}

}  // namespace

RemotePaymentClient::RemotePaymentClient(std::shared_ptr<RemotePeer> peer)
    : stubs_(std::move(peer)) {
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
    replicas_.push_back(std::make_unique<Stubs>(std::move(replica)));
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
  return options;
}

void RemotePaymentClient::ProcessPayment(::payment::v1::ProcessPaymentRequest request,
                                         const clients::CallOptions& options,
                                         clients::Done<PaymentResult> done) {
  stubs_.Call<PaymentResult>(options, std::move(done), [&](auto& stub, auto* context, auto* cq) {
    return stub.PrepareAsyncProcessPayment(context, request, cq);
  });
}

void RemotePaymentClient::RefundPayment(::payment::v1::RefundPaymentRequest request,
                                        const clients::CallOptions& options,
                                        clients::Done<PaymentResult> done) {
  auto prepare = [&](auto& stub, auto* context, auto* cq) {
    return stub.PrepareAsyncRefundPayment(context, request, cq);
  };
  if (replicas_.empty()) {
    stubs_.Call<PaymentResult>(options, std::move(done), prepare);
    return;
  }
  // Only the replica that charged knows the transaction; the others answer NOT_FOUND. So the
  // refund goes to each, and the owner's answer (a refund, or why it cannot be refunded) wins;
  // NOT_FOUND only when every replica said so. Through the balanced channel alone, a refund
  // reached the wrong replica about half the time and the charge was kept (soak, 2026-12-02).
  struct Tally {
    size_t waiting = 0;
    std::optional<PaymentResult> refunded;
    Status owner_refusal;  // a definite answer from the owner (e.g. never approved)
    Status unsure;         // a replica that did not answer: it may be the owner
    clients::Done<PaymentResult> done;
  };
  auto tally = std::make_shared<Tally>();
  tally->waiting = replicas_.size();
  tally->done = std::move(done);
  for (auto& replica : replicas_) {
    replica->Call<PaymentResult>(
        options,
        [tally, transaction = request.transaction_id()](const Status& status,
                                                        PaymentResult result) {
          if (status.ok()) {
            tally->refunded = std::move(result);
          } else if (IsDefiniteRefusal(status.code())) {
            tally->owner_refusal = status;
          } else if (status.code() != StatusCode::kNotFound && tally->unsure.ok()) {
            tally->unsure = status;
          }
          if (--tally->waiting > 0) return;
          if (tally->refunded) {
            tally->done(Status(), std::move(*tally->refunded));
          } else if (!tally->owner_refusal.ok()) {
            tally->done(tally->owner_refusal, PaymentResult());
          } else if (!tally->unsure.ok()) {
            tally->done(tally->unsure, PaymentResult());
          } else {
            tally->done(Status(StatusCode::kNotFound,
                               "transaction_id \"" + transaction + "\" not found on any replica"),
                        PaymentResult());
          }
        },
        prepare);
  }
}

void RemotePaymentClient::VoidPayment(::payment::v1::VoidPaymentRequest request,
                                      const clients::CallOptions& options,
                                      clients::Done<PaymentResult> done) {
  auto prepare = [&](auto& stub, auto* context, auto* cq) {
    return stub.PrepareAsyncVoidPayment(context, request, cq);
  };
  if (replicas_.empty()) {
    stubs_.Call<PaymentResult>(options, std::move(done), prepare);
    return;
  }
  // Every answer comes back on this shard's thread, so the tally needs no lock.
  struct Tally {
    size_t waiting = 0;
    Status error;
    PaymentResult best;
    clients::Done<PaymentResult> done;
  };
  auto tally = std::make_shared<Tally>();
  tally->waiting = replicas_.size();
  tally->done = std::move(done);
  for (auto& replica : replicas_) {
    replica->Call<PaymentResult>(
        options,
        [tally](const Status& status, PaymentResult result) {
          if (!status.ok()) {
            if (tally->error.ok()) tally->error = status;  // one replica unsure: all unsure
          } else if (Weight(result) > Weight(tally->best) ||
                     tally->best.idempotency_key().empty()) {
            tally->best = std::move(result);
          }
          if (--tally->waiting > 0) return;
          if (!tally->error.ok()) {
            tally->done(tally->error, PaymentResult());
          } else {
            tally->done(Status(), std::move(tally->best));
          }
        },
        prepare);
  }
}

}  // namespace percore::remote
