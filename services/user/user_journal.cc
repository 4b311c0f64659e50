#include "services/user/user_journal.h"

#include <map>

#include "core/durability/generation_dir.h"
#include "core/durability/log_reader.h"
#include "core/durability/snapshot_file.h"
#include "core/durability/store_journal.h"
#include "core/runtime/shard_for.h"
#include "services/user/user_validation.h"
#include "user/v1/user.pb.h"

namespace percore::user {
std::string UserPutPayload(const UserId& id, std::string_view user_bytes) {
  std::string payload;
  payload.reserve(16 + user_bytes.size());
  payload.append(id.view());
  payload.append(user_bytes);
  return payload;
}

void UserJournal::Start(runtime::Shard& shard, durability::LogFile file,
                        durability::FsyncPolicy policy) {
  log_ = durability::ShardLog::Start(shard, std::move(file), 0,
                                     {.policy = policy, .shard = shard.id()});
}

void UserJournal::EnableSnapshots(durability::SnapshotSource* source,
                                  durability::SnapshotPolicy policy) {
  if (!log_) return;
  snapshotter_ = durability::ShardSnapshotter::Start(*log_->shard(), log_, source, policy);
}

Status UserJournal::CheckWritable() const {
  if (!log_ || !log_->failing()) return Status();
  return Status(StatusCode::kUnavailable,
                log_->failure().message() + "; writes are refused until the log can be written");
}

std::optional<UserJournal::Lsn> UserJournal::LogPut(const UserId& id, std::string_view user_bytes) {
  if (!log_) return std::nullopt;
  Result<Lsn> lsn = log_->Append(kUserPut, UserPutPayload(id, user_bytes));
  if (!lsn.ok()) return std::nullopt;  // cannot fail after CheckWritable on the same task
  return *lsn;
}

std::optional<UserJournal::Lsn> UserJournal::LogDelete(const UserId& id) {
  if (!log_) return std::nullopt;
  Result<Lsn> lsn = log_->Append(kUserDelete, id.view());
  if (!lsn.ok()) return std::nullopt;
  return *lsn;
}

std::optional<UserJournal::Lsn> UserJournal::LogEmailClaim(UserRecordType type,
                                                           const UserId& claimer,
                                                           std::string_view key) {
  if (!log_) return std::nullopt;
  Result<Lsn> lsn = log_->Append(type, UserPutPayload(claimer, key));
  if (!lsn.ok()) return std::nullopt;
  return *lsn;
}

void UserJournal::AfterDurable(std::optional<Lsn> lsn, std::function<void(const Status&)> fn) {
  if (!log_ || !lsn) {
    fn(Status());
    return;
  }
  log_->WhenDurable(*lsn, std::move(fn));
}

void UserJournal::Close() {
  snapshotter_.reset();
  if (log_) log_->Close();
}

Result<std::vector<UserRestore>> RecoverUsers(const durability::DurabilityConfig& config,
                                              size_t shards, std::string* report) {
  using durability::GenerationDir;
  Result<GenerationDir> dir = GenerationDir::Open(config.data_dir + "/users");
  if (!dir.ok()) return dir.status();

  // Replay: each shard's snapshot then its log. A user's whole history is in one shard's files
  // (rows are placed by id), so the order between shards does not matter.
  std::map<UserId, std::string> users;
  std::map<std::string, UserId> claims;  // email key -> another partition's user holding it
  uint64_t records = 0;
  auto apply = [&](uint32_t type, std::string_view payload) -> Status {
    if (payload.size() < 16 || type < kUserPut || type > kEmailRelease) {
      return Status(StatusCode::kDataLoss,
                    "a record percore does not know (type " + std::to_string(type) + ")");
    }
    UserId id = UserId::FromBytes(payload.substr(0, 16));
    if (type == kEmailClaim) {
      claims[std::string(payload.substr(16))] = id;
    } else if (type == kEmailRelease) {
      auto it = claims.find(std::string(payload.substr(16)));
      if (it != claims.end() && it->second == id) claims.erase(it);
    } else if (type == kUserPut) {
      users[id] = std::string(payload.substr(16));
    } else {
      users.erase(id);
    }
    return Status();
  };
  if (dir->live()) {
    for (const GenerationDir::ShardFiles& files : dir->FilesOf(*dir->live())) {
      Result<uint64_t> replayed =
          durability::ReplayShardFiles(files, config.skip_corrupt, apply, report);
      if (!replayed.ok()) return replayed.status();
      records += *replayed;
    }
  }

  // Place every row and email key for today's shard count.
  std::vector<UserRestore> restore(shards);
  for (auto& [id, bytes] : users) {
    ::user::v1::User user;
    if (!user.ParseFromString(bytes)) {
      return Status(StatusCode::kDataLoss,
                    "users: the stored row of " + id.ToString() + " is not a user.v1.User");
    }
    std::string key = EmailKey(user.email());
    restore[runtime::ShardFor(key, shards)].email_keys.emplace_back(std::move(key), id);
    restore[runtime::ShardFor(id.view(), shards)].rows.emplace_back(id, std::move(bytes));
  }
  for (auto& [key, id] : claims) {
    restore[runtime::ShardFor(key, shards)].remote_claims.emplace_back(key, id);
  }

  // The next generation: one snapshot per shard, empty logs; then it becomes the live one.
  Result<uint64_t> next = dir->BeginNext();
  if (!next.ok()) return next.status();
  const std::string next_dir = dir->DirOf(*next);
  for (uint32_t shard = 0; shard < shards; ++shard) {
    Result<durability::SnapshotWriter> snapshot = durability::SnapshotWriter::Create(
        next_dir, GenerationDir::SnapshotName(shard), {{}, shard, 0});
    if (!snapshot.ok()) return snapshot.status();
    for (const auto& [id, bytes] : restore[shard].rows) {
      if (Status added = snapshot->Add(kUserPut, UserPutPayload(id, bytes)); !added.ok()) {
        return added;
      }
    }
    for (const auto& [key, id] : restore[shard].remote_claims) {
      if (Status added = snapshot->Add(kEmailClaim, UserPutPayload(id, key)); !added.ok()) {
        return added;
      }
    }
    if (Status finished = snapshot->Finish(); !finished.ok()) return finished;
    Result<durability::LogFile> log = durability::LogFile::Open(
        next_dir + "/" + GenerationDir::LogName(shard), {durability::kLogMagic, shard, 0}, 0);
    if (!log.ok()) return log.status();
    restore[shard].log = std::move(*log);
  }
  if (Status committed = dir->Commit(*next); !committed.ok()) return committed;
  *report += "users: recovered " + std::to_string(users.size()) + " users and " +
             std::to_string(claims.size()) + " email claims of other partitions' users from " +
             std::to_string(records) + " records; generation " + std::to_string(*next) +
             " live with " + std::to_string(shards) + " shards\n";
  return restore;
}

}  // namespace percore::user
