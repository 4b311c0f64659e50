#include "services/cluster/cluster_payment_client.h"

#include <string>
#include <utility>

#include "services/cluster/member_call.h"

namespace percore::cluster {
namespace {
constexpr char kPayment[] = "/payment.v1.PaymentService/";

// The key that places a payment call (route_keys.h): the idempotency key, and for a refund the
// transaction id, drawn on its payment's partition.
const std::string& PaymentKey(const ::payment::v1::RefundPaymentRequest& request) {
  return request.transaction_id();
}
template <class Req>
const std::string& PaymentKey(const Req& request) {
  return request.idempotency_key();
}

}  // namespace

ClusterPaymentClient::ClusterPaymentClient(ClusterPlacement placement,
                                           std::shared_ptr<MemberLinks> links,
                                           std::shared_ptr<clients::PaymentClient> local)
    : placement_(std::move(placement)), links_(std::move(links)), local_(std::move(local)) {}

template <size_t op, class Req>
void ClusterPaymentClient::Send(
    void (clients::PaymentClient::*method)(Req, const clients::CallOptions&,
                                           clients::Done<::payment::v1::PaymentResult>),
    Req request, const clients::CallOptions& options,
    clients::Done<::payment::v1::PaymentResult> done) {
  const PartitionId owner = placement_.OwnerOfCommerce(PaymentKey(request));
  LocalOrMember(*links_, placement_.self, owner,
                std::string(kPayment) + clients::kPaymentMethods[op], *local_, method,
                std::move(request), options, std::move(done));
}

}  // namespace percore::cluster
