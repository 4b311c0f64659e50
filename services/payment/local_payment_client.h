#pragma once
// Threading contract: see services/clients/call_options.h: call from a shard thread of the
// runtime that hosts the payment service; `done` runs exactly once on that shard's thread.
// Stateless apart from the service definition, so one object serves every shard.
//
// PaymentService as another service in this process sees it: the calling shard's
// PaymentHandler runs the same core as the RPC methods (a hop to the shard owning the
// idempotency key or transaction id and back), messages passed as objects, no serialization.
// CallOptions.deadline bounds the wait for the processor as a client's gRPC deadline does
// (tok_timeout ends DEADLINE_EXCEEDED then, on a shard timer).

#include <memory>

#include "services/clients/payment_client.h"
#include "services/payment/payment_handler.h"

namespace percore::payment {

class LocalPaymentClient final : public clients::PaymentClient {
 public:
  explicit LocalPaymentClient(std::shared_ptr<PaymentHandler::Def> def) : def_(std::move(def)) {}

  void ProcessPayment(v1::ProcessPaymentRequest request, const clients::CallOptions& options,
                      clients::Done<v1::PaymentResult> done) override;
  void RefundPayment(v1::RefundPaymentRequest request, const clients::CallOptions& options,
                     clients::Done<v1::PaymentResult> done) override;
  void VoidPayment(v1::VoidPaymentRequest request, const clients::CallOptions& options,
                   clients::Done<v1::PaymentResult> done) override;

 private:
  PaymentHandler& Here() const;
  std::shared_ptr<PaymentHandler::Def> def_;
};

}  // namespace percore::payment
