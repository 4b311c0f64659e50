#include "services/remote/remote_payment_client.h"

namespace percore::remote {

using ::payment::v1::PaymentResult;

PeerOptions RemotePaymentClient::Options(std::vector<std::string> addresses) {
  PeerOptions options;
  options.service = "payment.v1.PaymentService";
  options.addresses = std::move(addresses);
  options.retryable_methods = {"ProcessPayment", "RefundPayment"};
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
  stubs_.Call<PaymentResult>(options, std::move(done), [&](auto& stub, auto* context, auto* cq) {
    return stub.PrepareAsyncRefundPayment(context, request, cq);
  });
}

}  // namespace percore::remote
