#pragma once
// Threading contract: every function on a shard thread (Shard::Current()); `done` runs on it.
// The placement and member lists change as growth_lease.h and cluster_admin.h say (an atomic
// pointer, the shards' mailboxes).
//
// What a member does to move to a growth's placement, and what it does by itself when its
// freeze's lease runs out (services/cluster/GROWING.md, "Failures"):
// - switched already: the growth only goes forward: unfreeze under the new placement;
// - not switched: ask the old partitions' members (ClusterAdmin/State): any switched to this
//   growth (or done with it) → switch here too and unfreeze; every one answered and none
//   switched → abandon it (an old partition unfreezes under the placement in force, a joining
//   one stops itself: SIGTERM, a drain); some could not be asked → ask again in a second.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/base/status.h"
#include "core/runtime/runtime.h"
#include "services/cluster/member_links.h"
#include "services/user/user_service.h"

namespace percore::cluster {

struct GrowthContext {
  runtime::Runtime& runtime;
  std::shared_ptr<MemberLinks> links;
  std::shared_ptr<user::UserService> users;  // nullptr when not hosted
};

// Installs the placement `grown` describes with `members`, then drops (journaled) the email
// claims this member no longer owns; `done` with how many were dropped. INVALID_ARGUMENT when
// the history does not extend the placement in force.
void ApplyGrowth(const GrowthContext& context, const std::string& grown,
                 std::vector<std::string> members, std::function<void(Result<size_t>)> done);

// Drops (journaled) the email claims whose key this member does not own under the placement in
// force: the moved ones after a switch, the ones adopted for a growth abandoned since.
void DropForeignClaims(const GrowthContext& context, std::function<void(Result<size_t>)> done);

// Arms the lease of freeze `generation` (growth_lease.h) to settle it after `delay`.
void ArmGrowthLease(std::shared_ptr<GrowthContext> context, uint64_t generation,
                    std::chrono::milliseconds delay);

}  // namespace percore::cluster
