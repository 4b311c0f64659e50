#pragma once
// Threading contract: a relay lives on the shard that serves the client's WatchUserUpdates: its
// sources' tags run on that shard's completion queue, the client's stream callbacks on that shard
// too, so nothing is locked. It is freed once every source has finished and the client's call
// has let go of its callbacks. Sources are listed in the shard's in-flight calls (shutdown
// cancels them).
//
// WatchUserUpdates over a cluster: a client's watch of every user is fanned in from every
// partition (this one included, over its own address, so each partition's registration and
// backlog rules stay the ones of user_watch.h), a watch of one user is relayed from that user's
// partition. Each source is a marked WatchUserUpdates to a member; the client's initial metadata
// (its "registered" signal) goes out once every source is registered. Backpressure: a source
// has at most one message waiting for the client's stream; while it waits, that source is not
// read, so the member's own backlog limit applies. The first source to end ends the client's
// stream with its status (a partition that is down: UNAVAILABLE naming it); a client that
// cancels cancels every source.

#include <memory>

#include "core/cluster/cluster_placement.h"
#include "services/cluster/member_links.h"
#include "services/user/user_service.h"

namespace percore::cluster {

user::ClusterWatch MakeUserWatchRelay(const ClusterPlacement& placement,
                                      std::shared_ptr<MemberLinks> links);

}  // namespace percore::cluster
