#pragma once
// Threading contract: see services/clients/call_options.h; calls on the shards of one Runtime.
// Built before the runtime starts, destroyed after it stopped.
//
// PaymentService in other processes (--peer payment=HOST:PORT,...), over gRPC, the caller's
// deadline propagated. With several replicas (each its own ledger) ProcessPayment goes to the
// replica that owns its idempotency key (a stable hash of the key), never to another: its
// retries too, so a key is approved at most once across the replicas. Every method is retried
// on UNAVAILABLE (on the same replica for ProcessPayment): ProcessPayment charges once per
// idempotency key on its replica; RefundPayment and VoidPayment are idempotent.

#include <memory>
#include <string>
#include <vector>

#include "payment/v1/payment.grpc.pb.h"
#include "services/clients/payment_client.h"
#include "services/remote/peer_stubs.h"
#include "services/remote/remote_peer.h"

namespace percore::remote {

class RemotePaymentClient final : public clients::PaymentClient {
 public:
  static PeerOptions Options(std::vector<std::string> addresses);

  // With several replicas (which keep separate ledgers), VoidPayment and RefundPayment go to each
  // of them through a peer per replica: only the replica that charged can refund, and a void on
  // the others keeps a late request from charging there.
  explicit RemotePaymentClient(std::shared_ptr<RemotePeer> peer);

  void ProcessPayment(::payment::v1::ProcessPaymentRequest request,
                      const clients::CallOptions& options,
                      clients::Done<::payment::v1::PaymentResult> done) override;
  void RefundPayment(::payment::v1::RefundPaymentRequest request,
                     const clients::CallOptions& options,
                     clients::Done<::payment::v1::PaymentResult> done) override;
  void VoidPayment(::payment::v1::VoidPaymentRequest request, const clients::CallOptions& options,
                   clients::Done<::payment::v1::PaymentResult> done) override;

  RemotePeer& peer() { return stubs_.peer(); }
  // The per-replica peers (empty with one replica), to be closed at shutdown like peer().
  std::vector<std::shared_ptr<RemotePeer>> replica_peers() const;

 private:
  using Stubs = PeerStubs<::payment::v1::PaymentService>;
  // Indexes clients::kPaymentMethods, the names given to every Stubs.
  enum Method : size_t { kProcessPayment, kRefundPayment, kVoidPayment };
  Stubs stubs_;
  std::vector<std::unique_ptr<Stubs>> replicas_;
};

}  // namespace percore::remote
