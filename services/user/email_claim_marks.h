#pragma once
// Threading contract: constants and a value set on the control thread before the shards start
// (UserService::SetRemoteEmailClaims); its functions are called on a shard thread and answer on
// that same thread, exactly once.
//
// An email claim across the partitions of a cluster (issue 14). A user lives on the partition
// that created it (its id says which); its email's unique claim lives on the partition that owns
// the email's key, which may be another one after an UpdateUser changed the email. Members ask
// each other with marked calls (core/cluster/forwarded_mark.h) of the existing methods, told
// apart by one more metadata entry whose value is a user id or an email key:
//   CreateUser{email: KEY} + kEmailClaimMark: U   claim KEY for user U on KEY's partition
//                                                 (journaled there); answers User{id: U, email}
//   CreateUser{email: KEY} + kEmailReleaseMark: U free KEY's claim by U there, but only once
//                                                 U's partition says U no longer holds KEY
//   GetUser{id: U} + kEmailHoldsMark: KEY         on U's partition: OK when U has KEY or is
//                                                 changing to it; FAILED_PRECONDITION when not
// Only a marked call from a caller with the `service` or `admin` role (or with auth off) may use
// them, and a release frees only what the claimer's own partition disowns, so a forged call can
// at worst leave a stale claim, which the next claim of that email repairs.

#include <chrono>
#include <functional>
#include <string>

#include "core/base/result.h"
#include "core/cluster/partition_for.h"
#include "services/user/user_id.h"

namespace percore::user {

inline constexpr char kEmailClaimMark[] = "percore-email-claim";
inline constexpr char kEmailReleaseMark[] = "percore-email-release";
inline constexpr char kEmailHoldsMark[] = "percore-email-holds";

// How this partition reaches the others about emails (services/cluster sets it; none outside a
// cluster, where every key is this process's).
struct RemoteEmailClaims {
  using Deadline = std::chrono::system_clock::time_point;
  // Claims `key` for `claimer` on `partition` (the key's owner): OK, ALREADY_EXISTS, or why the
  // partition could not decide (UNAVAILABLE naming it).
  std::function<void(cluster::PartitionId partition, std::string key, UserId claimer,
                     Deadline deadline, std::function<void(Status)> done)>
      claim;
  // Asks `partition` (the key's owner) to free `key`'s claim by `claimer` if stale.
  std::function<void(cluster::PartitionId partition, std::string key, UserId claimer,
                     Deadline deadline, std::function<void(Status)> done)>
      release;
  // Whether `holder` (on `partition`, its own) has `key` or is changing its email to it.
  std::function<void(cluster::PartitionId partition, UserId holder, std::string key,
                     Deadline deadline, std::function<void(Result<bool>)> done)>
      holds;

  explicit operator bool() const { return static_cast<bool>(claim); }
};

}  // namespace percore::user
