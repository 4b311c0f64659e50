#pragma once
// Threading contract: one PaymentHandler per shard (rpc::ServiceDef), used only on its shard.
//
// The gRPC adapter of payment.v1.PaymentService: each method calls the service API
// (PaymentService, where the rules, the ledger and the cross-shard work live) and finishes the
// call with the answer. ProcessPayment also ties the call's cancellation to the wait for the
// processor (PaymentService::Abandon), and OnDrain ends the calls held for it.

#include <memory>

#include "core/rpc/service_def.h"
#include "services/payment/payment_service.h"

namespace percore::payment {

class PaymentHandler {
 public:
  using Def = rpc::ServiceDef<PaymentHandler>;

  explicit PaymentHandler(std::shared_ptr<PaymentService> service) : service_(std::move(service)) {}

  void ProcessPayment(rpc::UnaryCall<v1::ProcessPaymentRequest, v1::PaymentResult> call);
  void RefundPayment(rpc::UnaryCall<v1::RefundPaymentRequest, v1::PaymentResult> call);
  void GetPayment(rpc::UnaryCall<v1::GetPaymentRequest, v1::PaymentResult> call);
  void VoidPayment(rpc::UnaryCall<v1::VoidPaymentRequest, v1::PaymentResult> call);
  // Shutdown began: calls held for a processor that never answers end with UNAVAILABLE.
  void OnDrain() { service_->Drain(); }

  // For tests and metrics (this shard only): the ledger of the payments this shard owns,
  // approved payments made here, calls of this shard waiting for the processor.
  const PaymentLedger& ledger() { return service_->shards().local().ledger; }
  uint64_t charges() { return ledger().charges(); }
  size_t waiting_calls() { return service_->shards().local().waiting.size(); }

 private:
  std::shared_ptr<PaymentService> service_;
};

// The gRPC registration of `service`: each shard's part of the service is started with the
// shard's handler.
std::shared_ptr<PaymentHandler::Def> MakePaymentGrpcService(
    std::shared_ptr<PaymentService> service);
// Both at once, for a server that hosts the service and needs no handle on its API.
std::shared_ptr<PaymentHandler::Def> MakePaymentService(PaymentServiceOptions options = {});

}  // namespace percore::payment
