#pragma once
// Threading contract: one UserService per process, shared by every shard. SetShardCount() on the
// control thread before the shards start; StartShard() once on each shard's thread before it
// serves; every operation from a shard thread, its `done` run exactly once on that same thread
// (inline or later). Each shard's part (UserShard) is touched only by that shard: other shards
// reach it through Sharded<UserShard>::InvokeOn.
//
// user.v1.UserService as an API, without gRPC: what the gRPC adapter (UserHandler), the gateway
// and other services in this process call. The rules of user-service.md and the cross-shard
// choreography live here. Where data lives:
//   - a user on shard ShardFor(id): CreateUser picks an id that lands on the calling shard, so
//     creating needs no hop for the row;
//   - an email claim on shard ShardFor(lower-cased email): the unique index. Create claims the
//     email, then writes the row; Update claims the new email, writes the row, then releases the
//     old one; Delete removes the row, then releases its email. Releases finish before the
//     answer, so a freed email is free at once. Of concurrent claims exactly one wins.
//   - in a cluster, an email claim on the partition owning the email's key (there, on its
//     shard): a user stays on the partition that created it, and an Update to another
//     partition's email claims it there, writes the row here, then releases the old email on
//     its partition (email_claim_marks.h). A claim held by another partition's user whose user
//     does not have that email (its claimer died between claim and write) is freed by the next
//     claim of that email, after asking the user's partition (user_email_claims.cc).
// Answers are the stored rows, serialized user.v1.User bytes, as they are served. With a data
// directory, every write is logged on the row's shard and answered once durable (user_journal.h).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/result.h"
#include "core/durability/durability_config.h"
#include "core/rpc/serialized_message.h"
#include "core/rpc/server_stream_call.h"
#include "core/runtime/sharded.h"
#include "services/clients/user_client.h"
#include "services/user/email_claim_marks.h"
#include "services/user/user_id.h"
#include "services/user/user_journal.h"
#include "services/user/user_partition.h"
#include "services/user/user_snapshot_source.h"
#include "user/v1/user.pb.h"

namespace percore::user {

struct UserServiceOptions {
  // Events a watcher may fall behind before its stream ends with RESOURCE_EXHAUSTED.
  size_t watch_backlog_limit = 1024;
  // Where users are kept durably (off: in memory only). See user_journal.h.
  durability::DurabilityConfig durability;
};

// One shard's part of the service: its partition and its id generator, and where events for the
// watchers this shard serves are handed over (set by whoever serves watches here).
struct UserShard {
  explicit UserShard(runtime::ShardId shard);
  UserPartition partition;
  UserIdGenerator ids;
  UserJournal journal;                            // off without a data directory
  UserSnapshotSource snapshot_source{partition};  // what the journal's snapshots read
  std::function<void(const std::vector<uint64_t>& watch_ids, const SharedUserEvent& event)> deliver;
};

// In a cluster, the users of the other partitions, for a ListUsers that pages over the whole
// cluster (services/cluster sets it before the shards start; none outside a cluster). Each of
// `sources` is scanned like a shard: up to `limit` rows after `after`, ascending, `done` run on
// the calling shard (an error, e.g. UNAVAILABLE for a partition that is down, ends the page).
struct PartitionScanner {
  using Rows = std::vector<std::pair<UserId, rpc::SerializedMessage>>;
  size_t sources = 0;
  // When set, the number of sources now (a grown cluster's switch adds partitions); a list
  // takes it once at its start.
  std::function<size_t()> count;
  size_t Sources() const { return count ? count() : sources; }
  std::function<void(size_t source, std::optional<UserId> after, size_t limit,
                     std::chrono::system_clock::time_point deadline,
                     std::function<void(Result<Rows>)> done)>
      scan;
};

// In a cluster, takes a client's WatchUserUpdates whose users live (also) on other partitions
// and serves it from there (services/cluster); false: this member serves it alone.
using ClusterWatch =
    std::function<bool(const rpc::ServerStream<v1::WatchUserRequest, v1::UserUpdate>& call)>;

class UserService final : public clients::UserClient {
 public:
  template <class T>
  using Done = std::function<void(Result<T>)>;
  // A stored user as served: its id and its serialized user.v1.User.
  using Row = std::pair<UserId, rpc::SerializedMessage>;

  explicit UserService(UserServiceOptions options = {}) : options_(options) {}

  void SetShardCount(size_t shards) { shards_.SetShardCount(shards); }
  // Control thread, before the shards start, when options().durability is enabled: recovers the
  // users for `shards` shards (user_journal.h); StartShard then loads each shard's part.
  Status Recover(size_t shards, std::string* report);
  // Control thread, after the runtime's threads are joined and before the runtime is destroyed:
  // writes and syncs what each shard's log holds and stops its writer.
  void CloseJournals();
  void StartShard(runtime::Shard& shard);
  const UserServiceOptions& options() const { return options_; }
  runtime::Sharded<UserShard>& shards() { return shards_; }
  // Control thread, before the shards start (services/cluster).
  void SetPartitionScanner(PartitionScanner scanner) { partition_scanner_ = std::move(scanner); }
  const PartitionScanner& partition_scanner() const { return partition_scanner_; }
  void SetClusterWatch(ClusterWatch watch) { cluster_watch_ = std::move(watch); }
  const ClusterWatch& cluster_watch() const { return cluster_watch_; }

  // In a cluster, how this partition asks the others about email claims (before the shards
  // start; services/cluster).
  void SetRemoteEmailClaims(RemoteEmailClaims remote) { remote_ = std::move(remote); }

  // `deadline`: the caller's, for the calls to other partitions an email claim may need.
  using Deadline = std::chrono::system_clock::time_point;
  void CreateUser(const v1::CreateUserRequest& request, Done<rpc::SerializedMessage> done,
                  Deadline deadline = Deadline::max());
  void GetUser(const v1::GetUserRequest& request, Done<rpc::SerializedMessage> done);
  void UpdateUser(const v1::UpdateUserRequest& request, Done<rpc::SerializedMessage> done,
                  Deadline deadline = Deadline::max());
  void DeleteUser(const v1::DeleteUserRequest& request, Done<void> done,
                  Deadline deadline = Deadline::max());

  // The other partitions' email calls (email_claim_marks.h), served on this one:
  // `key` (this partition's) claimed for `claimer`, another partition's user, journaled here.
  void ClaimForMember(std::string key, UserId claimer, Deadline deadline, Done<void> done);
  // `key`'s claim by `claimer` freed if its partition says the user no longer holds it: OK when
  // freed or not held by `claimer`; FAILED_PRECONDITION while the user holds it.
  void ReleaseForMember(std::string key, UserId claimer, Deadline deadline, Done<void> done);
  // Whether this partition's user `id` has email key `key` or is changing to it.
  void HoldsEmail(UserId id, std::string key, Done<bool> done);
  // Up to `limit` rows of shard `shard` after `after` (from the start when unset), ascending.
  void ScanShard(runtime::ShardId shard, std::optional<UserId> after, size_t limit,
                 Done<std::vector<Row>> done);

  // clients::UserClient: the user as a message, for other services in this process.
  void GetUser(v1::GetUserRequest request, const clients::CallOptions& options,
               clients::Done<v1::User> done) override;
  // Only whether the user exists: no User parsed from its row.
  void CheckUser(const UserId& id, const clients::CallOptions& options,
                 clients::Done<clients::UserChecked> done) override;

 private:
  // The update once its email claim (if any) is settled: applied on the owner, then the old
  // email released before the answer.
  void ApplyUpdate(UserId id, std::shared_ptr<const UserPatch> patch, std::string claimed_key,
                   Deadline deadline, Done<rpc::SerializedMessage> done);
  // user_email_claims.cc: the claim of `key` (for `email`, as messages name it) for `claimer`
  // on this partition, a stale claim of another partition's user freed first (up to `repairs`
  // times); ALREADY_EXISTS when taken.
  void ClaimEmail(std::string email, std::string key, UserId claimer, Deadline deadline,
                  int repairs, Done<void> done);
  // The claim on the key's partition: this one's (ClaimEmail) or another's (remote_.claim).
  void ClaimAnywhere(std::string email, std::string key, UserId claimer, Deadline deadline,
                     Done<void> done);
  // `key`'s claim by `claimer` released on its partition; then `then()` (a remote release that
  // fails leaves a stale claim, freed by the next claim of that email).
  void ReleaseAnywhere(std::string key, UserId claimer, Deadline deadline,
                       std::function<void()> then);
  // `key`'s claim by another partition's `holder`, noted at `seq`, freed and journaled.
  void FreeStaleClaim(std::string key, UserId holder, uint64_t seq, Done<void> done);
  runtime::ShardId OwnerOf(const UserId& id) const { return shards_.ShardFor(id.view()); }

  UserServiceOptions options_;
  runtime::Sharded<UserShard> shards_;
  PartitionScanner partition_scanner_;
  ClusterWatch cluster_watch_;
  RemoteEmailClaims remote_;
  std::vector<UserRestore> restore_;  // by shard, from Recover(); each taken by its StartShard
};

}  // namespace percore::user
