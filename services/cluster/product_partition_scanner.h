#pragma once
// Threading contract: made on the control thread before the shards start; the scanner's `scan`
// runs on a shard thread and answers there (member_links.h, forwarded_stream_call.h).
//
// The other partitions' products for a ListProducts over the whole cluster
// (inventory::ProductPartitionScanner): source i is the i-th other member, asked with a
// ListProducts of `limit` products after the cursor (a page token: members share the token key),
// marked as forwarded so that member lists its own partition only. The member asked merges them
// with its own shards' runs, a k-way merge as ListUsers'. A member that is down ends the page
// UNAVAILABLE, naming its partition.

#include <memory>

#include "core/cluster/cluster_placement.h"
#include "services/cluster/member_links.h"
#include "services/inventory/inventory_service.h"

namespace percore::cluster {

inventory::ProductPartitionScanner MakeProductPartitionScanner(const ClusterPlacement& placement,
                                                               std::shared_ptr<MemberLinks> links);

}  // namespace percore::cluster
