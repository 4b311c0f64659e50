#include "services/cluster/cluster_payment_client.h"

#include <utility>

#include "services/cluster/member_call.h"

namespace percore::cluster {
namespace {
constexpr char kPayment[] = "/payment.v1.PaymentService/";
}  // namespace

ClusterPaymentClient::ClusterPaymentClient(ClusterPlacement placement,
                                           std::shared_ptr<MemberLinks> links,
                                           std::shared_ptr<clients::PaymentClient> local)
    : placement_(std::move(placement)), links_(std::move(links)), local_(std::move(local)) {}

void ClusterPaymentClient::ProcessPayment(::payment::v1::ProcessPaymentRequest request,
                                          const clients::CallOptions& options,
                                          clients::Done<::payment::v1::PaymentResult> done) {
  const PartitionId owner = placement_.OwnerOf(request.idempotency_key());
  if (owner == placement_.self)
    return local_->ProcessPayment(std::move(request), options, std::move(done));
  CallMember<::payment::v1::PaymentResult>(*links_, placement_.self, owner,
                                           std::string(kPayment) + "ProcessPayment", request,
                                           options, std::move(done));
}

void ClusterPaymentClient::RefundPayment(::payment::v1::RefundPaymentRequest request,
                                         const clients::CallOptions& options,
                                         clients::Done<::payment::v1::PaymentResult> done) {
  const PartitionId owner = placement_.OwnerOf(request.transaction_id());
  if (owner == placement_.self)
    return local_->RefundPayment(std::move(request), options, std::move(done));
  CallMember<::payment::v1::PaymentResult>(*links_, placement_.self, owner,
                                           std::string(kPayment) + "RefundPayment", request,
                                           options, std::move(done));
}

void ClusterPaymentClient::VoidPayment(::payment::v1::VoidPaymentRequest request,
                                       const clients::CallOptions& options,
                                       clients::Done<::payment::v1::PaymentResult> done) {
  const PartitionId owner = placement_.OwnerOf(request.idempotency_key());
  if (owner == placement_.self)
    return local_->VoidPayment(std::move(request), options, std::move(done));
  CallMember<::payment::v1::PaymentResult>(*links_, placement_.self, owner,
                                           std::string(kPayment) + "VoidPayment", request, options,
                                           std::move(done));
}

}  // namespace percore::cluster
