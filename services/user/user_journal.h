#pragma once
// Threading contract: a UserJournal belongs to one shard's UserShard and is used only on that
// shard's thread. RecoverUsers runs on the control thread before the shards start.
//
// The user service's durable state (issue 10): each shard logs the rows it changes — the whole
// stored user.v1.User on a create or update, the id on a delete — to its own write-ahead log
// (core/durability/shard_log.h), and answers a write only once its record is as durable as
// --fsync says. The email index is derived from the rows and rebuilt at recovery, except the
// claims held by users of other partitions of a cluster (email_claim_marks.h): those are logged
// on the claim's shard (kEmailClaim, kEmailRelease) and snapshotted with its rows. Recovery replays
// the live generation (snapshots, then logs), re-places every row for today's shard count and
// writes the next generation (one snapshot per shard, empty logs). While serving, each shard
// snapshots its rows per --snapshot-every (user_snapshot_source.h) and its log is truncated at the
// snapshot's cut.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/result.h"
#include "core/durability/durability_config.h"
#include "core/durability/log_file.h"
#include "core/durability/shard_log.h"
#include "core/durability/shard_snapshotter.h"
#include "core/runtime/shard.h"
#include "services/user/user_id.h"

namespace percore::user {

enum UserRecordType : uint32_t {
  kUserPut = 1,       // 16-byte id, then the serialized user.v1.User
  kUserDelete = 2,    // 16-byte id
  kEmailClaim = 3,    // 16-byte id of the claimer (another partition's user), then the email key
  kEmailRelease = 4,  // 16-byte id of the claimer, then the email key
};

// The payload of a kUserPut record.
std::string UserPutPayload(const UserId& id, std::string_view user_bytes);

class UserJournal {
 public:
  using Lsn = durability::Lsn;

  // Off (no data directory) until Start.
  void Start(runtime::Shard& shard, durability::LogFile file, durability::FsyncPolicy policy);
  bool enabled() const { return log_ != nullptr; }
  // After Start: snapshots `source` while serving per `policy` (shard_snapshotter.h).
  void EnableSnapshots(durability::SnapshotSource* source, durability::SnapshotPolicy policy);
  durability::ShardSnapshotter* snapshotter() { return snapshotter_.get(); }
  // What the log has done (null when off), for metrics.
  const durability::LogStats* stats() const { return log_ ? &log_->stats() : nullptr; }

  // OK, or UNAVAILABLE while the log cannot be written: the change must not be made.
  Status CheckWritable() const;
  // Frames the change (after CheckWritable said OK, on the same task). nullopt when off.
  std::optional<Lsn> LogPut(const UserId& id, std::string_view user_bytes);
  std::optional<Lsn> LogDelete(const UserId& id);
  // An email claim by another partition's user taken or freed (kEmailClaim, kEmailRelease).
  std::optional<Lsn> LogEmailClaim(UserRecordType type, const UserId& claimer,
                                   std::string_view key);
  // fn(status) once the record is durable (at once when off or nullopt).
  void AfterDurable(std::optional<Lsn> lsn, std::function<void(const Status&)> fn);
  // Writes and syncs what is pending and stops the log's writer thread.
  void Close();

 private:
  std::shared_ptr<durability::ShardLog> log_;
  std::shared_ptr<durability::ShardSnapshotter> snapshotter_;
};

// What recovery hands each shard.
struct UserRestore {
  std::vector<std::pair<UserId, std::string>> rows;           // users this shard owns
  std::vector<std::pair<std::string, UserId>> email_keys;     // email keys this shard indexes
  std::vector<std::pair<std::string, UserId>> remote_claims;  // of them, other partitions' users
  std::optional<durability::LogFile> log;                     // the shard's new, empty log
};

// Recovers the users under `config.data_dir`/users for `shards` shards and starts the next
// generation. DATA_LOSS (naming the file and offset) on damage inside a log unless
// config.skip_corrupt. `report` gets one line per notable finding (torn tails, skipped records)
// and a summary.
Result<std::vector<UserRestore>> RecoverUsers(const durability::DurabilityConfig& config,
                                              size_t shards, std::string* report);

}  // namespace percore::user
