#pragma once
// Threading contract: both on the control thread in main(), before the shards start.
//
// What main() does for a cluster member, in one place: the placement installed (ids land on
// this partition), one page-token key for the whole cluster (derived from the membership, so a
// token from one member is taken by every other; it recognizes tokens, it is no secret), the
// router with its member links, and the user service's cross-partition list and watch.

#include <memory>

#include "core/cluster/cluster_placement.h"
#include "services/cluster/forwarding_router.h"
#include "services/user/user_service.h"

namespace percore::cluster {

// Installs `placement`; for a clustered one also returns the router (nullptr otherwise).
std::shared_ptr<ForwardingRouter> SetUpMember(const ClusterPlacement& placement);
// Gives a hosted user service the other partitions for ListUsers and WatchUserUpdates.
void AttachUserService(const ForwardingRouter& router, const ClusterPlacement& placement,
                       user::UserService& users);

}  // namespace percore::cluster
