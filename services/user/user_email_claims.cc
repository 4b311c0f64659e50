// UserService's email claims across the partitions of a cluster (email_claim_marks.h): a claim
// taken on the key's partition, journaled there when its claimer is another partition's user,
// released on it, and a stale one (its user does not have that email: the claimer died between
// claim and write, or between write and release) freed by the next claim after asking the
// user's partition. Outside a cluster every key is this process's and none of the remote paths
// runs.

#include <algorithm>
#include <optional>
#include <utility>

#include "core/cluster/cluster_placement.h"
#include "services/user/user_service.h"

namespace percore::user {
namespace {

// A call to another partition gets the caller's deadline, but never waits longer than this
// (a caller with none must not wait on a frozen member for ever).
constexpr std::chrono::seconds kMemberCallBudget{10};

UserService::Deadline Capped(UserService::Deadline deadline) {
  return std::min(deadline, std::chrono::system_clock::now() + kMemberCallBudget);
}

cluster::PartitionId PartitionOf(const UserId& id) {
  return cluster::ProcessPlacement().OwnerOfId(id.view());
}

// What one claim attempt on the key's shard found.
struct ClaimStep {
  Status status;                 // OK: claimed (and durable)
  std::optional<UserId> holder;  // taken by another partition's user: its claim may be stale
  uint64_t seq = 0;              // that claim's sequence number
};

ClaimStep Decided(Status status) { return ClaimStep{std::move(status), std::nullopt, 0}; }

}  // namespace

void UserService::ClaimEmail(std::string email, std::string key, UserId claimer, Deadline deadline,
                             int repairs, Done<void> done) {
  const bool remote_claimer = !cluster::OwnsId(claimer.view());
  shards_.InvokeOnAsync<ClaimStep>(
      shards_.ShardFor(key),
      [key, claimer, remote_claimer](UserShard& owner, auto reply) {
        UserId holder;
        Result<storage::ClaimOutcome> claimed =
            owner.partition.emails().Claim(key, claimer, &holder);
        if (!claimed.ok()) {
          const UserPartition::RemoteClaim* remote = owner.partition.RemoteClaimOf(key);
          if (claimed.status().code() == StatusCode::kAlreadyExists && remote != nullptr &&
              remote->claimer == holder) {
            reply(ClaimStep{claimed.status(), holder, remote->seq});
          } else {
            reply(Decided(claimed.status()));
          }
          return;
        }
        if (!remote_claimer) {  // this partition's user: its row says, no journal of its own
          reply(Decided(Status()));
          return;
        }
        if (Status writable = owner.journal.CheckWritable(); !writable.ok()) {
          if (*claimed == storage::ClaimOutcome::kNewlyClaimed) {
            owner.partition.emails().Release(key, claimer);
          }
          reply(Decided(std::move(writable)));
          return;
        }
        // Noted again when already held: a repair that found the older claim stale keeps off.
        owner.partition.NoteRemoteClaim(key, claimer);
        std::optional<UserJournal::Lsn> lsn;
        if (*claimed == storage::ClaimOutcome::kNewlyClaimed) {
          lsn = owner.journal.LogEmailClaim(kEmailClaim, claimer, key);
        }
        owner.journal.AfterDurable(
            lsn, [reply](const Status& durable) mutable { reply(Decided(durable)); });
      },
      [this, email = std::move(email), key, claimer, deadline, repairs,
       done = std::move(done)](ClaimStep step) mutable {
        if (step.status.ok()) {
          done({});
          return;
        }
        if (step.status.code() != StatusCode::kAlreadyExists) {
          done(step.status);
          return;
        }
        if (!step.holder || !remote_ || repairs <= 0) {
          done(EmailTaken(email));
          return;
        }
        // Held by another partition's user: still its (its row has the email, or it is between
        // claim and write), or stale? Its partition decides.
        const UserId holder = *step.holder;
        remote_.holds(
            PartitionOf(holder), holder, key, Capped(deadline),
            [this, email = std::move(email), key, claimer, deadline, repairs, holder,
             seq = step.seq, done = std::move(done)](Result<bool> held) mutable {
              if (!held.ok()) {
                done(Status(held.status().code(), "email \"" + email +
                                                      "\" is held by a claim of user " +
                                                      holder.ToString() +
                                                      ", whose partition cannot say whether it is "
                                                      "still its: " +
                                                      held.status().message()));
                return;
              }
              if (*held) {
                done(EmailTaken(email));
                return;
              }
              FreeStaleClaim(key, holder, seq,
                             [this, email = std::move(email), key, claimer, deadline, repairs,
                              done = std::move(done)](Result<void> freed) mutable {
                               if (!freed.ok()) {
                                 done(freed.status());
                                 return;
                               }
                               ClaimEmail(std::move(email), std::move(key), claimer, deadline,
                                          repairs - 1, std::move(done));
                             });
            });
      });
}

void UserService::FreeStaleClaim(std::string key, UserId holder, uint64_t seq, Done<void> done) {
  shards_.InvokeOnAsync<Status>(
      shards_.ShardFor(key),
      [key, holder, seq](UserShard& owner, auto reply) {
        if (Status writable = owner.journal.CheckWritable(); !writable.ok()) {
          reply(std::move(writable));
          return;
        }
        // Claimed again since (a newer sequence number) or freed already: nothing to free.
        if (!owner.partition.FreeRemoteClaim(key, holder, seq)) {
          reply(Status());
          return;
        }
        std::optional<UserJournal::Lsn> lsn =
            owner.journal.LogEmailClaim(kEmailRelease, holder, key);
        owner.journal.AfterDurable(lsn, [reply](const Status& durable) mutable { reply(durable); });
      },
      [done = std::move(done)](Status freed) {
        if (freed.ok()) {
          done({});
        } else {
          done(freed);
        }
      });
}

void UserService::ClaimAnywhere(std::string email, std::string key, UserId claimer,
                                Deadline deadline, Done<void> done) {
  if (cluster::OwnsKey(key)) {
    ClaimEmail(std::move(email), std::move(key), claimer, deadline, 1, std::move(done));
    return;
  }
  const cluster::PartitionId owner = cluster::ProcessPlacement().OwnerOf(key);
  if (!remote_) {  // a cluster without the member calls wired: refuse rather than claim here
    done(Status(StatusCode::kFailedPrecondition, "email: its claim belongs to partition " +
                                                     std::to_string(owner) +
                                                     ", which this member cannot reach"));
    return;
  }
  remote_.claim(owner, std::move(key), claimer, Capped(deadline),
                [email = std::move(email), done = std::move(done)](Status claimed) {
                  if (claimed.code() == StatusCode::kAlreadyExists) {
                    done(EmailTaken(email));  // named as the caller wrote it
                  } else if (!claimed.ok()) {
                    done(claimed);
                  } else {
                    done({});
                  }
                });
}

void UserService::ReleaseAnywhere(std::string key, UserId claimer, Deadline deadline,
                                  std::function<void()> then) {
  if (cluster::OwnsKey(key) || !remote_) {
    shards_.InvokeOn(
        shards_.ShardFor(key),
        [key, claimer](UserShard& owner) { owner.partition.emails().Release(key, claimer); },
        std::move(then));
    return;
  }
  // The user's row no longer has the email: the key's partition checks that with this one and
  // frees the claim. Failing (that partition down), the claim stays stale until claimed again.
  remote_.release(cluster::ProcessPlacement().OwnerOf(key), std::move(key), claimer,
                  Capped(deadline), [then = std::move(then)](const Status&) { then(); });
}

void UserService::ClaimForMember(std::string key, UserId claimer, Deadline deadline,
                                 Done<void> done) {
  if (!cluster::OwnsKey(key)) {
    done(Status(StatusCode::kUnavailable,
                "misrouted email claim: partition " +
                    std::to_string(cluster::ProcessPlacement().OwnerOf(key)) + " owns that email"));
    return;
  }
  std::string email = key;
  ClaimEmail(std::move(email), std::move(key), claimer, deadline, 1, std::move(done));
}

void UserService::ReleaseForMember(std::string key, UserId claimer, Deadline deadline,
                                   Done<void> done) {
  shards_.InvokeOn(
      shards_.ShardFor(key),
      [key, claimer](UserShard& owner) -> std::optional<uint64_t> {
        const UserPartition::RemoteClaim* claim = owner.partition.RemoteClaimOf(key);
        if (claim == nullptr || !(claim->claimer == claimer)) return std::nullopt;
        return claim->seq;
      },
      [this, key, claimer, deadline, done = std::move(done)](std::optional<uint64_t> seq) mutable {
        if (!seq || !remote_) {  // not (or no longer) that user's claim
          done({});
          return;
        }
        remote_.holds(
            PartitionOf(claimer), claimer, key, Capped(deadline),
            [this, key, claimer, seq = *seq, done = std::move(done)](Result<bool> held) mutable {
              if (!held.ok()) {
                done(held.status());
              } else if (*held) {
                done(Status(StatusCode::kFailedPrecondition,
                            "user " + claimer.ToString() + " still holds that email"));
              } else {
                FreeStaleClaim(std::move(key), claimer, seq, std::move(done));
              }
            });
      });
}

void UserService::HoldsEmail(UserId id, std::string key, Done<bool> done) {
  shards_.InvokeOn(
      OwnerOf(id),
      [id, key = std::move(key)](UserShard& owner) { return owner.partition.HoldsEmail(id, key); },
      [done = std::move(done)](bool held) { done(held); });
}

}  // namespace percore::user
