#pragma once
// Threading contract: see call_options.h. One object serves every shard.
//
// What other services ask of payment.v1.PaymentService (the semantics, and the simulator's test
// tokens, are in proto/payment/v1/payment.proto).

#include "payment/v1/payment.pb.h"
#include "services/clients/call_options.h"

namespace percore::clients {

class PaymentClient {
 public:
  virtual ~PaymentClient() = default;
  virtual void ProcessPayment(::payment::v1::ProcessPaymentRequest request,
                              const CallOptions& options,
                              Done<::payment::v1::PaymentResult> done) = 0;
  virtual void RefundPayment(::payment::v1::RefundPaymentRequest request,
                             const CallOptions& options,
                             Done<::payment::v1::PaymentResult> done) = 0;
  // Afterwards no charge stands for the key (see the proto): for a ProcessPayment whose
  // outcome the caller does not know.
  virtual void VoidPayment(::payment::v1::VoidPaymentRequest request, const CallOptions& options,
                           Done<::payment::v1::PaymentResult> done) = 0;
};

}  // namespace percore::clients
