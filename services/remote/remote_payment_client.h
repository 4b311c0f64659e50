#pragma once
// Threading contract: see services/clients/call_options.h; calls on the shards of one Runtime.
// Built before the runtime starts, destroyed after it stopped.
//
// PaymentService in other processes (--peer payment=HOST:PORT,...), over gRPC: round_robin
// across the replicas, the caller's deadline propagated. Both methods are retried on
// UNAVAILABLE: ProcessPayment charges once per idempotency key and RefundPayment is idempotent.

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

  explicit RemotePaymentClient(std::shared_ptr<RemotePeer> peer) : stubs_(std::move(peer)) {}

  void ProcessPayment(::payment::v1::ProcessPaymentRequest request,
                      const clients::CallOptions& options,
                      clients::Done<::payment::v1::PaymentResult> done) override;
  void RefundPayment(::payment::v1::RefundPaymentRequest request,
                     const clients::CallOptions& options,
                     clients::Done<::payment::v1::PaymentResult> done) override;

  RemotePeer& peer() { return stubs_.peer(); }

 private:
  PeerStubs<::payment::v1::PaymentService> stubs_;
};

}  // namespace percore::remote
