#pragma once
// Threading contract: built on the control thread before the shards start, immutable afterwards;
// a call is issued on a shard thread and answered there (clients/call_options.h).
//
// The payment service of a cluster, as the order saga reaches it: each call goes to the
// partition that owns its key, the one the router would forward it to (route_keys.h):
// ProcessPayment and VoidPayment by the idempotency key, RefundPayment by the transaction id
// (drawn on its payment's partition, so the id names its owner). This partition's keys go to
// `local` (the hosted service, or a --peer); others' to their member (member_call.h). So an
// order's money lives with the payment's owner whichever member ran the saga, and a refund or
// void always reaches the ledger that holds the charge.

#include <memory>

#include "core/cluster/cluster_placement.h"
#include "services/clients/payment_client.h"
#include "services/cluster/member_links.h"

namespace percore::cluster {

class ClusterPaymentClient final : public clients::PaymentClientVia<ClusterPaymentClient> {
 public:
  ClusterPaymentClient(ClusterPlacement placement, std::shared_ptr<MemberLinks> links,
                       std::shared_ptr<clients::PaymentClient> local);

 private:
  friend class clients::PaymentClientVia<ClusterPaymentClient>;
  // Each operation: to its key's owner, `local`'s `method` or the member's gRPC method.
  template <size_t op, class Req>
  void Send(void (clients::PaymentClient::*method)(Req, const clients::CallOptions&,
                                                   clients::Done<::payment::v1::PaymentResult>),
            Req request, const clients::CallOptions& options,
            clients::Done<::payment::v1::PaymentResult> done);

  ClusterPlacement placement_;
  std::shared_ptr<MemberLinks> links_;
  std::shared_ptr<clients::PaymentClient> local_;
};

}  // namespace percore::cluster
