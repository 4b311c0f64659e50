#pragma once
// Threading contract: made on the control thread before the shards start; the scanner's `scan`
// runs on a shard thread and answers there (member_links.h, forwarded_stream_call.h).
//
// The other partitions' users for a ListUsers over the whole cluster (user::PartitionScanner):
// source i is the i-th other member, asked with a ListUsers of `limit` users after the cursor
// (a page token: members share the token key), marked as forwarded so that member lists its own
// partition only. A member that is down ends the page UNAVAILABLE, naming its partition: a page
// that silently lacked a partition's users would look complete.

#include <memory>

#include "core/cluster/cluster_placement.h"
#include "services/cluster/member_links.h"
#include "services/user/user_service.h"

namespace percore::cluster {

user::PartitionScanner MakeUserPartitionScanner(const ClusterPlacement& placement,
                                                std::shared_ptr<MemberLinks> links);

}  // namespace percore::cluster
