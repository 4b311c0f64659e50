#pragma once
// Threading contract: installed on the control thread before the shards start; the hooks run on
// the shard of the client's call (stream_relay.h).
//
// ListOrders and WatchOrderUpdates over a cluster: a user's orders live in the user's partition
// (CreateOrder is routed by the user id, order ids are drawn there), so a client's list or watch
// of a user (or of one order) that another partition holds is relayed from that partition's
// member, one hop; a marked call (a member's) is always served where it arrives.

#include <memory>

#include "core/cluster/cluster_placement.h"
#include "services/cluster/member_links.h"
#include "services/order/order_options.h"

namespace percore::cluster {

void InstallOrderStreamRelays(const ClusterPlacement& placement, std::shared_ptr<MemberLinks> links,
                              order::OrderServiceOptions& options);

}  // namespace percore::cluster
