#include "services/payment/local_payment_client.h"

#include <cassert>

namespace percore::payment {

PaymentHandler& LocalPaymentClient::Here() const {
  runtime::Shard* shard = runtime::Shard::Current();
  assert(shard != nullptr && "LocalPaymentClient must be called on a shard thread");
  return def_->local(*shard);
}

void LocalPaymentClient::ProcessPayment(v1::ProcessPaymentRequest request,
                                        const clients::CallOptions& options,
                                        clients::Done<v1::PaymentResult> done) {
  Here().Process(request, options.deadline, std::move(done));
}

void LocalPaymentClient::RefundPayment(v1::RefundPaymentRequest request,
                                       const clients::CallOptions& /*options*/,
                                       clients::Done<v1::PaymentResult> done) {
  // A refund is answered at once (one hop), so there is nothing for the deadline to bound.
  Here().Refund(request, std::move(done));
}

void LocalPaymentClient::VoidPayment(v1::VoidPaymentRequest request,
                                     const clients::CallOptions& /*options*/,
                                     clients::Done<v1::PaymentResult> done) {
  Here().Void(request, std::move(done));  // answered at once, as a refund is
}

}  // namespace percore::payment
