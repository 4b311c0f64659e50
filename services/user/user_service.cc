#include "services/user/user_service.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <utility>

#include "core/cluster/cluster_placement.h"
#include "services/user/user_validation.h"

namespace percore::user {
namespace {

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

UserShard::UserShard(runtime::ShardId shard)
    : ids(std::random_device{}() ^ (uint64_t{shard} << 32)) {}

Status UserService::Recover(size_t shards, std::string* report) {
  Result<std::vector<UserRestore>> restore = RecoverUsers(options_.durability, shards, report);
  if (!restore.ok()) return restore.status();
  restore_ = std::move(*restore);
  return Status();
}

void UserService::CloseJournals() {
  shards_.ForEachAfterStop([](UserShard& shard) { shard.journal.Close(); });
}

void UserService::StartShard(runtime::Shard& shard) {
  UserShard& mine = shards_.Emplace(shard, std::make_unique<UserShard>(shard.id()));
  if (shard.id() < restore_.size()) {
    UserRestore& restore = restore_[shard.id()];
    for (const auto& [id, bytes] : restore.rows) mine.partition.Restore(id, bytes);
    for (const auto& [key, id] : restore.email_keys) {
      // A user whose email moved to another partition's key is indexed there, not here.
      if (!cluster::OwnsKey(key)) continue;
      [[maybe_unused]] auto claimed = mine.partition.emails().Claim(key, id);
    }
    for (const auto& [key, claimer] : restore.remote_claims) {
      if (mine.partition.emails().Claim(key, claimer).ok()) {
        mine.partition.NoteRemoteClaim(key, claimer);
      }
    }
    if (restore.log) {
      mine.journal.Start(shard, std::move(*restore.log), options_.durability.fsync);
      mine.journal.EnableSnapshots(&mine.snapshot_source, options_.durability.snapshot);
    }
    restore = UserRestore();  // the rows now live in the partition
  }
  // Runs on this (owner) shard right after a write: one task per watching shard, delivered there
  // to whoever serves its watches.
  mine.partition.outbox().set_send(
      [this](runtime::ShardId home, SharedUserEvent event, std::vector<uint64_t> ids) {
        shards_.RunOn(home, [event = std::move(event), ids = std::move(ids)](UserShard& there) {
          if (there.deliver) there.deliver(ids, event);
        });
      });
}

void UserService::CreateUser(const v1::CreateUserRequest& request,
                             Done<rpc::SerializedMessage> done, Deadline deadline) {
  Result<NewUser> fields = ValidateCreate(request);
  if (!fields.ok()) {
    done(fields.status());
    return;
  }
  runtime::ShardId here = runtime::Shard::Current()->id();
  int64_t now = NowNanos();
  UserId id = shards_.local().ids.Next(now, [this, here](const UserId& candidate) {
    // The row stays on this shard, in this process's partition (cluster_placement.h).
    return OwnerOf(candidate) == here && cluster::OwnsId(candidate.view());
  });
  v1::User user;
  user.set_id(id.ToString());
  user.set_name(std::move(fields->name));
  user.set_email(fields->email);
  for (std::string& role : fields->roles) user.add_roles(std::move(role));
  *user.mutable_created_at() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(now);
  *user.mutable_updated_at() = user.created_at();

  std::string key = EmailKey(fields->email);
  // Routed by the email, a creation claims on this partition; one that was not (a call that
  // reached this member unrouted) claims on the email's, as an update does. Marked as taking
  // the email meanwhile, for a repair that asks whether this user's claim is stale.
  shards_.local().partition.BeginEmailTake(id, key);
  ClaimAnywhere(
      fields->email, key, id, deadline,
      [this, id, key, deadline, user = std::move(user),
       done = std::move(done)](Result<void> claimed) {
        UserShard& mine = shards_.local();  // the row's shard: the claim answers here
        mine.partition.EndEmailChange(id);
        if (!claimed.ok()) {
          done(claimed.status());
          return;
        }
        if (Status writable = mine.journal.CheckWritable(); !writable.ok()) {
          ReleaseAnywhere(
              key, id, deadline,
              [done = std::move(done), writable = std::move(writable)] { done(writable); });
          return;
        }
        std::string bytes = mine.partition.Store(id, user, v1::UserUpdate::UPDATE_TYPE_CREATED);
        std::optional<UserJournal::Lsn> lsn = mine.journal.LogPut(id, bytes);
        mine.journal.AfterDurable(
            lsn, [done = std::move(done), bytes = std::move(bytes)](const Status& durable) {
              if (!durable.ok()) {
                done(durable);
              } else {
                done(rpc::SerializedMessage::Copy(bytes));
              }
            });
      });
}

void UserService::GetUser(const v1::GetUserRequest& request, Done<rpc::SerializedMessage> done) {
  UserId id;
  if (Status status = ParseUserId(request.id(), "id", &id); !status.ok()) {
    done(std::move(status));
    return;
  }
  shards_.InvokeOn(
      OwnerOf(id), [id](UserShard& owner) { return owner.partition.LoadBytes(id); },
      [id, done = std::move(done)](std::optional<rpc::SerializedMessage> bytes) {
        if (!bytes) {
          done(UserNotFound(id));
        } else {
          done(std::move(*bytes));
        }
      });
}

void UserService::UpdateUser(const v1::UpdateUserRequest& request,
                             Done<rpc::SerializedMessage> done, Deadline deadline) {
  UserId id;
  if (Status status = ParseUserId(request.id(), "id", &id); !status.ok()) {
    done(std::move(status));
    return;
  }
  Result<UserPatch> validated = ValidateUpdate(request);
  if (!validated.ok()) {
    done(validated.status());
    return;
  }
  auto patch = std::make_shared<const UserPatch>(std::move(validated).value());
  if (!patch->email) {
    ApplyUpdate(id, std::move(patch), "", deadline, std::move(done));
    return;
  }
  // The email may change: see whether its key does, and if so claim the new key first (in a
  // cluster on the key's partition, which may be another one than the user's).
  std::string new_key = EmailKey(*patch->email);
  shards_.InvokeOn(
      OwnerOf(id),
      [id, new_key](UserShard& owner) { return owner.partition.BeginEmailChange(id, new_key); },
      [this, id, patch, new_key, deadline,
       done = std::move(done)](Result<std::string> current) mutable {
        if (!current.ok()) {
          done(current.status());
          return;
        }
        if (*current == new_key) {  // same address (perhaps other letter case): no claim
          ApplyUpdate(id, patch, "", deadline, std::move(done));
          return;
        }
        ClaimAnywhere(
            *patch->email, new_key, id, deadline,
            [this, id, patch, new_key, deadline, done = std::move(done)](Result<void> claimed) {
              if (claimed.ok()) {
                ApplyUpdate(id, patch, new_key, deadline, std::move(done));
                return;
              }
              shards_.InvokeOn(
                  OwnerOf(id), [id](UserShard& owner) { owner.partition.EndEmailChange(id); },
                  [status = claimed.status(), done = std::move(done)] { done(status); });
            });
      });
}

void UserService::ApplyUpdate(UserId id, std::shared_ptr<const UserPatch> patch,
                              std::string claimed_key, Deadline deadline,
                              Done<rpc::SerializedMessage> done) {
  struct Outcome {
    Result<std::string> bytes;
    std::string release_key;  // an email key to release on its shard
  };
  int64_t now = NowNanos();
  shards_.InvokeOnAsync<Outcome>(
      OwnerOf(id),
      [id, patch, claimed_key, now](UserShard& owner, auto reply) {
        Outcome outcome{StatusCode::kUnknown, ""};
        if (Status writable = owner.journal.CheckWritable(); !writable.ok()) {
          if (!claimed_key.empty()) owner.partition.EndEmailChange(id);
          reply(Outcome{std::move(writable), claimed_key});  // the claim is given back
          return;
        }
        outcome.bytes =
            owner.partition.ApplyPatch(id, *patch, claimed_key, now, &outcome.release_key);
        if (!outcome.bytes.ok()) {
          outcome.release_key = claimed_key;  // deleted: give it back
          reply(std::move(outcome));
          return;
        }
        std::optional<UserJournal::Lsn> lsn = owner.journal.LogPut(id, *outcome.bytes);
        owner.journal.AfterDurable(lsn, [reply, outcome](const Status& durable) mutable {
          if (!durable.ok()) outcome.bytes = durable;
          reply(std::move(outcome));
        });
      },
      [this, id, deadline, done = std::move(done)](Outcome outcome) mutable {
        auto reply = [done = std::move(done), bytes = std::move(outcome.bytes)] {
          if (!bytes.ok()) {
            done(bytes.status());
          } else {
            done(rpc::SerializedMessage::Copy(*bytes));
          }
        };
        if (outcome.release_key.empty()) {
          reply();
          return;
        }
        ReleaseAnywhere(outcome.release_key, id, deadline, std::move(reply));
      });
}

void UserService::DeleteUser(const v1::DeleteUserRequest& request, Done<void> done,
                             Deadline deadline) {
  UserId id;
  if (Status status = ParseUserId(request.id(), "id", &id); !status.ok()) {
    done(std::move(status));
    return;
  }
  struct Outcome {
    Result<std::string> key;  // the email key to release, or why nothing was removed
    Status durable;           // not OK: removed, but the log closed before it was durable
  };
  shards_.InvokeOnAsync<Outcome>(
      OwnerOf(id),
      [id](UserShard& owner, auto reply) {
        if (Status writable = owner.journal.CheckWritable(); !writable.ok()) {
          reply(Outcome{std::move(writable), Status()});
          return;
        }
        Result<std::string> key = owner.partition.RemoveUser(id);
        if (!key.ok()) {
          reply(Outcome{std::move(key), Status()});
          return;
        }
        std::optional<UserJournal::Lsn> lsn = owner.journal.LogDelete(id);
        owner.journal.AfterDurable(lsn, [reply, key](const Status& durable) mutable {
          reply(Outcome{std::move(key), durable});
        });
      },
      [this, id, deadline, done = std::move(done)](Outcome outcome) mutable {
        if (!outcome.key.ok()) {
          done(outcome.key.status());
          return;
        }
        // The row is gone: its email is released whatever the log said.
        ReleaseAnywhere(*outcome.key, id, deadline,
                        [done = std::move(done), durable = std::move(outcome.durable)] {
                          if (durable.ok()) {
                            done({});
                          } else {
                            done(durable);
                          }
                        });
      });
}

void UserService::ScanShard(runtime::ShardId shard, std::optional<UserId> after, size_t limit,
                            Done<std::vector<Row>> done) {
  shards_.InvokeOn(
      shard,
      [after, limit](UserShard& owner) {
        return owner.partition.ScanAfter(after ? &*after : nullptr, limit);
      },
      [done = std::move(done)](std::vector<Row> rows) { done(std::move(rows)); });
}

void UserService::GetUser(v1::GetUserRequest request, const clients::CallOptions& /*options*/,
                          clients::Done<v1::User> done) {
  UserId id;
  if (Status status = ParseUserId(request.id(), "id", &id); !status.ok()) {
    done(status, v1::User());
    return;
  }
  shards_.InvokeOn(
      OwnerOf(id), [id](UserShard& owner) { return owner.partition.Load(id); },
      [done = std::move(done), id](std::optional<v1::User> user) {
        if (!user) {
          done(UserNotFound(id), v1::User());
        } else {
          done(Status(), std::move(*user));
        }
      });
}

void UserService::CheckUser(const UserId& id, const clients::CallOptions& /*options*/,
                            clients::Done<clients::UserChecked> done) {
  shards_.InvokeOn(
      OwnerOf(id), [id](UserShard& owner) { return owner.partition.Has(id); },
      [done = std::move(done), id](bool found) {
        done(found ? Status() : UserNotFound(id), clients::UserChecked{});
      });
}

}  // namespace percore::user
