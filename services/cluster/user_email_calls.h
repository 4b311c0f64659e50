#pragma once
// Threading contract: made on the control thread before the shards start; its functions run on
// a shard thread and answer there, once (member_call.h).
//
// How a user service asks the other partitions about email claims (user::RemoteEmailClaims,
// services/user/email_claim_marks.h): each question a marked call of an existing user.v1 method
// sent straight to the partition that decides it (CallMemberWith: the caller's deadline, the
// --peer-token-file token, the forwarded mark) with one metadata entry saying what it asks.
// A member that is down answers UNAVAILABLE naming its partition.

#include <memory>

#include "core/cluster/cluster_placement.h"
#include "services/cluster/member_links.h"
#include "services/user/email_claim_marks.h"

namespace percore::cluster {

user::RemoteEmailClaims MakeRemoteEmailClaims(const ClusterPlacement& placement,
                                              std::shared_ptr<MemberLinks> links);

}  // namespace percore::cluster
