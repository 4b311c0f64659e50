#pragma once
// Threading contract: installed on the control thread before the shards start; the hook runs on
// the shard of the chat's call, and its answer comes back on that shard (member_call.h).
//
// The support chat over a cluster: "status <order id>" for an order drawn on another partition
// (order ids name their partition, placed by their epoch) asks that partition's member with a
// marked GetOrder, one hop, instead of reading only the orders this partition holds.

#include <memory>

#include "services/cluster/member_links.h"
#include "services/order/order_options.h"

namespace percore::cluster {

void InstallOrderChatLookup(std::shared_ptr<MemberLinks> links,
                            order::OrderServiceOptions& options);

}  // namespace percore::cluster
