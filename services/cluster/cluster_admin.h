#pragma once
// Threading contract: MakeClusterAdminService on the control thread before the server starts;
// one ClusterAdminHandler per shard (rpc::ServiceDef), each call on its shard. The growth state
// it changes is process-wide and lock-free on the request path: the freeze flag
// (growth_freeze.h), the placement (core/cluster/cluster_placement.h: an atomic pointer to an
// immutable value) and each shard's member list (MemberLinks::GrowMembers, through the shards'
// mailboxes).
//
// cluster.v1.ClusterAdmin (proto/cluster/v1/cluster_admin.proto): a member's side of growing a
// cluster from P to P' partitions, driven by `tools/cluster grow` (services/cluster/GROWING.md):
// Freeze, PullPartition (the email claims another partition owns under P'), AdoptClaims, Switch,
// Unfreeze. Member calls: the access table gives them to the `service` and `admin` roles.

#include <memory>

#include "core/rpc/service_def.h"
#include "core/runtime/runtime.h"
#include "services/cluster/member_links.h"
#include "services/user/user_service.h"

namespace percore::cluster {

class ClusterAdminHandler;

// `users`: the hosted user service (nullptr when not hosted: no claims to pull or adopt).
std::shared_ptr<rpc::ServiceDef<ClusterAdminHandler>> MakeClusterAdminService(
    runtime::Runtime& runtime, std::shared_ptr<MemberLinks> links,
    std::shared_ptr<user::UserService> users);

}  // namespace percore::cluster
