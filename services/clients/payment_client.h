#pragma once
// Threading contract: see call_options.h. One object serves every shard.
//
// What other services ask of payment.v1.PaymentService (the semantics, and the simulator's test
// tokens, are in proto/payment/v1/payment.proto), and PaymentClientVia, for an implementation
// that sends every operation the same way.

#include <cstddef>
#include <utility>

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

// PaymentClient's operations, in the order above, by their gRPC method names.
inline constexpr const char* kPaymentMethods[] = {"ProcessPayment", "RefundPayment", "VoidPayment"};

// A PaymentClient that sends each operation alike (to the partition that owns its key):
// `Impl::Send<op>(method, request, options, done)`, `op` indexing kPaymentMethods and `method`
// the PaymentClient member called.
template <class Impl>
class PaymentClientVia : public PaymentClient {
 public:
  void ProcessPayment(::payment::v1::ProcessPaymentRequest request, const CallOptions& options,
                      Done<::payment::v1::PaymentResult> done) final {
    Send<0>(&PaymentClient::ProcessPayment, std::move(request), options, std::move(done));
  }
  void RefundPayment(::payment::v1::RefundPaymentRequest request, const CallOptions& options,
                     Done<::payment::v1::PaymentResult> done) final {
    Send<1>(&PaymentClient::RefundPayment, std::move(request), options, std::move(done));
  }
  void VoidPayment(::payment::v1::VoidPaymentRequest request, const CallOptions& options,
                   Done<::payment::v1::PaymentResult> done) final {
    Send<2>(&PaymentClient::VoidPayment, std::move(request), options, std::move(done));
  }

 private:
  template <size_t op, class Req>
  void Send(void (PaymentClient::*method)(Req, const CallOptions&,
                                          Done<::payment::v1::PaymentResult>),
            Req request, const CallOptions& options, Done<::payment::v1::PaymentResult> done) {
    static_cast<Impl*>(this)->template Send<op>(method, std::move(request), options,
                                                std::move(done));
  }
};

}  // namespace percore::clients
