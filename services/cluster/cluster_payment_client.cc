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
  const PartitionId owner = placement_.OwnerOfCommerce(request.idempotency_key());
  LocalOrMember(*links_, placement_.self, owner, std::string(kPayment) + "ProcessPayment", *local_,
                &clients::PaymentClient::ProcessPayment, std::move(request), options,
                std::move(done));
}

void ClusterPaymentClient::RefundPayment(::payment::v1::RefundPaymentRequest request,
                                         const clients::CallOptions& options,
                                         clients::Done<::payment::v1::PaymentResult> done) {
  const PartitionId owner = placement_.OwnerOfCommerce(request.transaction_id());
  LocalOrMember(*links_, placement_.self, owner, std::string(kPayment) + "RefundPayment", *local_,
                &clients::PaymentClient::RefundPayment, std::move(request), options,
                std::move(done));
}

void ClusterPaymentClient::VoidPayment(::payment::v1::VoidPaymentRequest request,
                                       const clients::CallOptions& options,
                                       clients::Done<::payment::v1::PaymentResult> done) {
  const PartitionId owner = placement_.OwnerOfCommerce(request.idempotency_key());
  LocalOrMember(*links_, placement_.self, owner, std::string(kPayment) + "VoidPayment", *local_,
                &clients::PaymentClient::VoidPayment, std::move(request), options, std::move(done));
}

}  // namespace percore::cluster
