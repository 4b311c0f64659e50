#pragma once
// Threading contract: both from a shard thread; each reads or writes a shard's email index on
// that shard (through its mailbox), `done` runs on the calling shard.
//
// Moving email claims between partitions when a cluster grows (services/cluster/GROWING.md):
// the partition that held a claim under P lists those whose owner under P' is another
// partition, and that partition adopts them: each becomes a claim here, journaled (kEmailClaim)
// when its user lives on another partition, so it survives a restart without its user's row.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "services/user/user_service.h"

namespace percore::user {

struct MovedClaim {
  std::string key;  // the email's unique key
  UserId claimer;
};

// The claims of every shard whose owner under `partitions` is `partition`, by shard.
void CollectClaimsFor(UserService& users, size_t partitions, uint32_t partition,
                      std::function<void(std::vector<std::vector<MovedClaim>>)> done);

// Takes `claims` on their shards; answers once every journaled one is durable, with how many
// were taken (a key already held by another user here is skipped and counted in `conflicts`).
struct Adopted {
  size_t taken = 0;
  size_t conflicts = 0;
  Adopted& operator+=(const Adopted& other) {
    taken += other.taken;
    conflicts += other.conflicts;
    return *this;
  }
};
void AdoptClaims(UserService& users, std::vector<MovedClaim> claims,
                 std::function<void(Result<Adopted>)> done);

// After a switch: every shard releases the claims whose key this partition no longer owns (the
// placement in force), a claim of another partition's user journaled (kEmailRelease) so that a
// restart does not bring it back; `done` with how many were dropped, once durable.
void DropMovedClaims(UserService& users, std::function<void(Result<size_t>)> done);

// How many email claims every shard holds.
void CountClaims(UserService& users, std::function<void(size_t)> done);

}  // namespace percore::user
