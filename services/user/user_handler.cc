#include "services/user/user_handler.h"

#include <google/protobuf/empty.pb.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>

#include "core/base/status.h"
#include "core/runtime/runtime.h"
#include "core/storage/partition_of.h"
#include "services/user/page_token.h"
#include "services/user/user_list_stream.h"
#include "services/user/user_validation.h"

namespace percore::user {
namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

google::protobuf::Timestamp ToTimestamp(int64_t nanos) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(nanos);
}

Status NotFound(const UserId& id) {
  return Status(StatusCode::kNotFound, "user " + id.ToString() + " not found");
}

Status EmailTaken(const std::string& email) {
  return Status(StatusCode::kAlreadyExists, "email \"" + email + "\" is already in use");
}

// The handler of the shard this code runs on (inside a hop's work).
UserHandler& Here(UserHandler::Def* def) { return def->local(*runtime::Shard::Current()); }

}  // namespace

// What an UpdateUser changes, validated and normalized.
struct UserHandler::Patch {
  std::optional<std::string> name;
  std::optional<std::string> email;
  std::optional<std::vector<std::string>> roles;
};

UserHandler::UserHandler(runtime::Shard& shard, Def* def, UserServiceOptions options)
    : shard_(shard),
      runtime_(shard.runtime()),
      def_(def),
      options_(options),
      ids_(std::random_device{}() ^ (uint64_t{shard.id()} << 32)) {
  // Runs on this (owner) shard right after a write: one task per watching shard.
  partition_.outbox().set_send([runtime = &runtime_, def = def_](runtime::ShardId home,
                                                                 SharedUserEvent event,
                                                                 std::vector<uint64_t> ids) {
    runtime->SubmitTo(home, [def, event = std::move(event), ids = std::move(ids)] {
      Here(def).DeliverToWatches(ids, event);
    });
  });
}

runtime::ShardId UserHandler::OwnerOf(const UserId& id) const {
  return static_cast<runtime::ShardId>(storage::PartitionOf(id.view(), runtime_.size()));
}

runtime::ShardId UserHandler::ShardOfEmail(const std::string& key) const {
  return static_cast<runtime::ShardId>(storage::PartitionOf(key, runtime_.size()));
}

void UserHandler::CreateUser(rpc::UnaryCall<v1::CreateUserRequest, v1::User> call) {
  const v1::CreateUserRequest& request = call.request();
  std::string name, email;
  std::vector<std::string> roles;
  for (const Status& status :
       {ValidateName(request.name(), &name), ValidateEmail(request.email(), &email),
        ValidateRoles(request.roles(), &roles)}) {
    if (!status.ok()) {
      call.Finish(status);
      return;
    }
  }
  int64_t now = NowNanos();
  UserId id = ids_.Next(now, [this](const UserId& candidate) {
    return OwnerOf(candidate) == shard_.id();  // the row stays on this shard
  });
  v1::User user;
  user.set_id(id.ToString());
  user.set_name(std::move(name));
  user.set_email(email);
  for (std::string& role : roles) user.add_roles(std::move(role));
  *user.mutable_created_at() = ToTimestamp(now);
  *user.mutable_updated_at() = ToTimestamp(now);

  std::string key = EmailKey(email);
  runtime_.Hop(
      ShardOfEmail(key),
      [def = def_, key, id] { return Here(def).partition().emails().Claim(key, id).ok(); },
      [this, call, id, user = std::move(user)](bool claimed) {
        if (!claimed) {
          call.Finish(EmailTaken(user.email()));
          return;
        }
        std::string bytes = partition_.Store(id, user, v1::UserUpdate::UPDATE_TYPE_CREATED);
        call.FinishRaw(rpc::SerializedMessage::Copy(bytes));
      });
}

void UserHandler::GetUser(rpc::UnaryCall<v1::GetUserRequest, v1::User> call) {
  UserId id;
  if (Status status = ParseUserId(call.request().id(), "id", &id); !status.ok()) {
    call.Finish(status);
    return;
  }
  runtime_.Hop(
      OwnerOf(id), [def = def_, id] { return Here(def).partition().LoadBytes(id); },
      [call, id](std::optional<rpc::SerializedMessage> bytes) {
        if (!bytes) {
          call.Finish(NotFound(id));
        } else {
          call.FinishRaw(*bytes);
        }
      });
}

void UserHandler::UpdateUser(rpc::UnaryCall<v1::UpdateUserRequest, v1::User> call) {
  const v1::UpdateUserRequest& request = call.request();
  UserId id;
  if (Status status = ParseUserId(request.id(), "id", &id); !status.ok()) {
    call.Finish(status);
    return;
  }
  auto patch = std::make_shared<Patch>();
  bool want_name = request.has_name();
  bool want_email = request.has_email();
  bool want_roles = request.roles_size() > 0;
  if (request.has_update_mask()) {  // the mask alone decides (so roles can be cleared)
    want_name = want_email = want_roles = false;
    for (const std::string& path : request.update_mask().paths()) {
      if (path == "name") {
        want_name = true;
      } else if (path == "email") {
        want_email = true;
      } else if (path == "roles") {
        want_roles = true;
      } else {
        call.Finish(Status(
            StatusCode::kInvalidArgument,
            "update_mask names unknown field \"" + path + "\" (allowed: name, email, roles)"));
        return;
      }
    }
  }
  Status status;
  if (want_name && status.ok()) status = ValidateName(request.name(), &patch->name.emplace());
  if (want_email && status.ok()) status = ValidateEmail(request.email(), &patch->email.emplace());
  if (want_roles && status.ok()) status = ValidateRoles(request.roles(), &patch->roles.emplace());
  if (!status.ok()) {
    call.Finish(status);
    return;
  }
  if (!patch->email) {
    ApplyUpdate(std::move(call), id, std::move(patch), "");
    return;
  }
  // The email may change: see whether its key does, and if so claim the new key first.
  std::string new_key = EmailKey(*patch->email);
  struct Current {
    bool found = false;
    bool busy = false;
    std::string key;
  };
  runtime_.Hop(
      OwnerOf(id),
      [def = def_, id, new_key] {
        UserPartition& partition = Here(def).partition();
        Current current;
        std::optional<v1::User> user = partition.Load(id);
        if (!user) return current;
        current.found = true;
        current.key = EmailKey(user->email());
        if (current.key != new_key && !partition.email_changes_in_flight().insert(id).second) {
          current.busy = true;
        }
        return current;
      },
      [this, call, id, patch, new_key](Current current) {
        if (!current.found) {
          call.Finish(NotFound(id));
          return;
        }
        if (current.busy) {
          call.Finish(Status(StatusCode::kAborted, "another update is changing the email of user " +
                                                       id.ToString() + "; retry"));
          return;
        }
        if (current.key == new_key) {  // same address (perhaps other letter case): no claim
          ApplyUpdate(call, id, patch, "");
          return;
        }
        runtime_.Hop(
            ShardOfEmail(new_key),
            [def = def_, new_key, id] {
              return Here(def).partition().emails().Claim(new_key, id).ok();
            },
            [this, call, id, patch, new_key](bool claimed) {
              if (claimed) {
                ApplyUpdate(call, id, patch, new_key);
                return;
              }
              runtime_.Hop(
                  OwnerOf(id),
                  [def = def_, id] { Here(def).partition().email_changes_in_flight().erase(id); },
                  [call, patch] { call.Finish(EmailTaken(*patch->email)); });
            });
      });
}

// Runs the update on the owner. `claimed_key`: the new email key this update claimed ("" if
// none); released again if the user is gone. Then the old key is released before the reply.
void UserHandler::ApplyUpdate(rpc::UnaryCall<v1::UpdateUserRequest, v1::User> call, UserId id,
                              std::shared_ptr<Patch> patch, std::string claimed_key) {
  struct Outcome {
    bool found = false;
    std::string bytes;
    std::string release_key;  // an email key to release on its shard
  };
  int64_t now = NowNanos();
  runtime_.Hop(
      OwnerOf(id),
      [def = def_, id, patch, claimed_key, now] {
        UserPartition& partition = Here(def).partition();
        Outcome outcome;
        if (!claimed_key.empty()) partition.email_changes_in_flight().erase(id);
        std::optional<v1::User> user = partition.Load(id);
        if (!user) {
          outcome.release_key = claimed_key;  // deleted meanwhile: give the new claim back
          return outcome;
        }
        outcome.found = true;
        if (patch->name) user->set_name(*patch->name);
        if (patch->email) {
          std::string old_key = EmailKey(user->email());
          if (!claimed_key.empty() && old_key != claimed_key) outcome.release_key = old_key;
          user->set_email(*patch->email);
        }
        if (patch->roles) {
          user->clear_roles();
          for (const std::string& role : *patch->roles) user->add_roles(role);
        }
        int64_t previous =
            google::protobuf::util::TimeUtil::TimestampToNanoseconds(user->updated_at());
        *user->mutable_updated_at() = ToTimestamp(std::max(now, previous));  // never backwards
        outcome.bytes = partition.Store(id, *user, v1::UserUpdate::UPDATE_TYPE_UPDATED);
        return outcome;
      },
      [this, call, id](Outcome outcome) {
        auto reply = [call, id, found = outcome.found, bytes = std::move(outcome.bytes)] {
          if (!found) {
            call.Finish(NotFound(id));
          } else {
            call.FinishRaw(rpc::SerializedMessage::Copy(bytes));
          }
        };
        if (outcome.release_key.empty()) {
          reply();
          return;
        }
        runtime_.Hop(
            ShardOfEmail(outcome.release_key),
            [def = def_, key = outcome.release_key, id] {
              Here(def).partition().emails().Release(key, id);
            },
            std::move(reply));
      });
}

void UserHandler::DeleteUser(rpc::UnaryCall<v1::DeleteUserRequest, google::protobuf::Empty> call) {
  UserId id;
  if (Status status = ParseUserId(call.request().id(), "id", &id); !status.ok()) {
    call.Finish(status);
    return;
  }
  runtime_.Hop(
      OwnerOf(id),
      [def = def_, id]() -> std::optional<std::string> {
        std::optional<v1::User> user = Here(def).partition().Remove(id);
        if (!user) return std::nullopt;
        return EmailKey(user->email());
      },
      [this, call, id](std::optional<std::string> key) {
        if (!key) {
          call.Finish(NotFound(id));
          return;
        }
        runtime_.Hop(
            ShardOfEmail(*key),
            [def = def_, key = *key, id] { Here(def).partition().emails().Release(key, id); },
            [call] { call.Finish(google::protobuf::Empty()); });
      });
}

void UserHandler::ListUsers(rpc::ServerStream<v1::ListUsersRequest, v1::User> call) {
  const v1::ListUsersRequest& request = call.request();
  if (request.page_size() < 0) {
    call.Finish(Status(StatusCode::kInvalidArgument, "page_size must not be negative, got " +
                                                         std::to_string(request.page_size())));
    return;
  }
  int size =
      request.page_size() == 0 ? kDefaultPageSize : std::min(request.page_size(), kMaxPageSize);
  std::optional<UserId> after;
  if (!request.page_token().empty()) {
    after = DecodePageToken(request.page_token());
    if (!after) {
      call.Finish(Status(StatusCode::kInvalidArgument,
                         "page_token was not issued by this server (or has expired)"));
      return;
    }
  }
  std::make_shared<UserListStream>(def_, call, runtime_.size(), static_cast<size_t>(size), after)
      ->Start();
}

void UserHandler::WatchUserUpdates(rpc::ServerStream<v1::WatchUserRequest, v1::UserUpdate> call) {
  const std::string& user_id = call.request().user_id();
  UserId id;
  bool one_user = !user_id.empty();
  if (one_user) {
    if (Status status = ParseUserId(user_id, "user_id", &id); !status.ok()) {
      call.Finish(status);
      return;
    }
  }
  uint64_t watch_id = next_watch_id_++;
  auto watch = std::make_shared<UserWatch>(call, one_user, options_.watch_backlog_limit);
  watches_.emplace(watch_id, watch);
  call.OnCancel([this, watch_id] { EndWatch(watch_id, Status(StatusCode::kCancelled, "")); });

  // Registration: subscribe on the owner (one user) or on every shard (all users); once all
  // are in place, initial metadata tells the client it is registered.
  auto registered = [this, watch_id](runtime::ShardId shard,
                                     std::optional<storage::SubscriptionId> sub) {
    auto it = watches_.find(watch_id);
    if (it == watches_.end() || it->second->ended()) {  // ended meanwhile: undo
      if (sub) {
        runtime_.SubmitTo(
            shard, [def = def_, sub = *sub] { Here(def).partition().feed().Unsubscribe(sub); });
      }
      return;
    }
    UserWatch& w = *it->second;
    if (!sub) {
      EndWatch(watch_id, Status(StatusCode::kNotFound,
                                "user " + w.stream().request().user_id() + " not found"));
      return;
    }
    w.subscriptions().emplace_back(shard, *sub);
    if (--w.pending_registrations == 0) w.stream().SendInitialMetadata();
  };

  if (one_user) {
    watch->pending_registrations = 1;
    runtime::ShardId owner = OwnerOf(id);
    runtime_.Hop(
        owner,
        [def = def_, id, home = shard_.id(), watch_id]() -> std::optional<storage::SubscriptionId> {
          UserPartition& partition = Here(def).partition();
          if (!partition.Load(id)) return std::nullopt;
          return partition.feed().SubscribeKey(id, partition.outbox().SinkFor(home, watch_id));
        },
        [registered, owner](std::optional<storage::SubscriptionId> sub) {
          registered(owner, sub);
        });
    return;
  }
  watch->pending_registrations = static_cast<int>(runtime_.size());
  for (runtime::ShardId s = 0; s < runtime_.size(); ++s) {
    runtime_.Hop(
        s,
        [def = def_, home = shard_.id(), watch_id]() -> std::optional<storage::SubscriptionId> {
          UserPartition& partition = Here(def).partition();
          return partition.feed().SubscribeAll(partition.outbox().SinkFor(home, watch_id));
        },
        [registered, s](std::optional<storage::SubscriptionId> sub) { registered(s, sub); });
  }
}

void UserHandler::DeliverToWatches(const std::vector<uint64_t>& watch_ids,
                                   const SharedUserEvent& event) {
  for (uint64_t watch_id : watch_ids) {
    auto it = watches_.find(watch_id);
    if (it == watches_.end()) continue;             // cancelled while the event was on its way
    std::shared_ptr<UserWatch> watch = it->second;  // Deliver may end it (and erase it)
    watch->Deliver(event);
    if (watch->ended()) EndWatch(watch_id, Status());  // DELETED or overflow ended it
  }
}

void UserHandler::EndWatch(uint64_t watch_id, const Status& status) {
  auto it = watches_.find(watch_id);
  if (it == watches_.end()) return;
  std::shared_ptr<UserWatch> watch = std::move(it->second);
  watches_.erase(it);
  watch->End(status);  // no-op if it ended itself
  Unsubscribe(*watch);
}

void UserHandler::Unsubscribe(UserWatch& watch) {
  for (auto [shard, sub] : watch.subscriptions()) {
    runtime_.SubmitTo(shard,
                      [def = def_, sub = sub] { Here(def).partition().feed().Unsubscribe(sub); });
  }
  watch.subscriptions().clear();
}

void UserHandler::OnDrain() {
  std::vector<uint64_t> ids;
  for (const auto& [id, watch] : watches_) ids.push_back(id);
  for (uint64_t id : ids) {
    EndWatch(id, Status(StatusCode::kUnavailable, "server is shutting down"));
  }
}

std::shared_ptr<UserHandler::Def> MakeUserService(UserServiceOptions options) {
  auto def = std::make_shared<UserHandler::Def>(rpc::FindServiceDescriptor("user.v1.UserService"),
                                                nullptr);
  UserHandler::Def* raw = def.get();  // the def outlives every handler it makes
  def->set_factory([raw, options](runtime::Shard& shard) {
    return std::make_unique<UserHandler>(shard, raw, options);
  });
  def->Unary("CreateUser", &UserHandler::CreateUser);
  def->Unary("GetUser", &UserHandler::GetUser);
  def->Unary("UpdateUser", &UserHandler::UpdateUser);
  def->Unary("DeleteUser", &UserHandler::DeleteUser);
  def->ServerStream("ListUsers", &UserHandler::ListUsers);
  def->ServerStream("WatchUserUpdates", &UserHandler::WatchUserUpdates);
  return def;
}

}  // namespace percore::user
