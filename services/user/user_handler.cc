#include "services/user/user_handler.h"

#include <google/protobuf/empty.pb.h>

#include <utility>

#include "core/cluster/forwarded_mark.h"
#include "services/user/user_list_stream.h"
#include "services/user/user_validation.h"

namespace percore::user {

UserHandler::UserHandler(runtime::Shard& shard, std::shared_ptr<UserService> service)
    : shard_(shard), service_(std::move(service)) {
  service_->shards().local().deliver = [this](const std::vector<uint64_t>& watch_ids,
                                              const SharedUserEvent& event) {
    DeliverToWatches(watch_ids, event);
  };
}

namespace {

// A member's email call (email_claim_marks.h) is served only marked, and only for a caller that
// may act for the cluster: the `service` role (the --peer-token-file token), `admin`, or anyone
// with auth off.
Status CheckMemberCall(const rpc::CallHandle& call, const char* what) {
  const auth::Principal* who = call.principal();
  if (!call.metadata(cluster::kForwardedFromKey).has_value() ||
      (who != nullptr && !who->HasRole("service") && !who->HasRole("admin"))) {
    return Status(StatusCode::kPermissionDenied,
                  std::string("permission denied: ") + what +
                      " is a call between cluster members (marked, role service)");
  }
  return Status();
}

// The answer of a user operation: the stored row as it is served, or the failure.
template <class Call>
auto FinishWithRow(Call call) {
  return [call = std::move(call)](Result<rpc::SerializedMessage> row) {
    if (row.ok()) {
      call.FinishRaw(*row);
    } else {
      call.Finish(row.status());
    }
  };
}

}  // namespace

void UserHandler::CreateUser(rpc::UnaryCall<v1::CreateUserRequest, v1::User> call) {
  std::optional<std::string_view> claim = call.metadata(kEmailClaimMark);
  std::optional<std::string_view> release = call.metadata(kEmailReleaseMark);
  if (claim || release) {
    ServeEmailClaim(std::move(call), claim.has_value());
    return;
  }
  service_->CreateUser(call.request(), FinishWithRow(call), call.deadline());
}

void UserHandler::ServeEmailClaim(rpc::UnaryCall<v1::CreateUserRequest, v1::User> call,
                                  bool claim) {
  const char* mark = claim ? kEmailClaimMark : kEmailReleaseMark;
  if (Status allowed = CheckMemberCall(call, mark); !allowed.ok()) {
    call.Finish(allowed);
    return;
  }
  std::string email;
  UserId claimer;
  Status valid = ValidateEmail(call.request().email(), &email);
  if (valid.ok()) valid = ParseUserId(std::string(*call.metadata(mark)), mark, &claimer);
  if (!valid.ok()) {
    call.Finish(valid);
    return;
  }
  auto answer = [call, claimer, email](Result<void> done) {
    if (!done.ok()) {
      call.Finish(done.status());
      return;
    }
    v1::User user;
    user.set_id(claimer.ToString());
    user.set_email(email);
    call.Finish(user);
  };
  if (claim) {
    service_->ClaimForMember(EmailKey(email), claimer, call.deadline(), std::move(answer));
  } else {
    service_->ReleaseForMember(EmailKey(email), claimer, call.deadline(), std::move(answer));
  }
}

void UserHandler::GetUser(rpc::UnaryCall<v1::GetUserRequest, v1::User> call) {
  if (std::optional<std::string_view> key = call.metadata(kEmailHoldsMark)) {
    if (Status allowed = CheckMemberCall(call, kEmailHoldsMark); !allowed.ok()) {
      call.Finish(allowed);
      return;
    }
    UserId id;
    if (Status status = ParseUserId(call.request().id(), "id", &id); !status.ok()) {
      call.Finish(status);
      return;
    }
    service_->HoldsEmail(id, std::string(*key), [call, id](Result<bool> held) {
      if (held.ok() && *held) {
        v1::User user;
        user.set_id(id.ToString());
        call.Finish(user);
      } else {
        call.Finish(Status(StatusCode::kFailedPrecondition,
                           "user " + id.ToString() + " does not hold that email"));
      }
    });
    return;
  }
  service_->GetUser(call.request(), FinishWithRow(call));
}

void UserHandler::UpdateUser(rpc::UnaryCall<v1::UpdateUserRequest, v1::User> call) {
  // A user may update their own user (the access policy), but not give it roles: that is
  // admin's (with auth off there is no principal and no check).
  const v1::UpdateUserRequest& request = call.request();
  if (!call.required_owner().empty()) {
    bool touches_roles = request.roles_size() > 0;
    for (const std::string& path : request.update_mask().paths()) touches_roles |= path == "roles";
    if (touches_roles) {
      call.Finish(Status(StatusCode::kPermissionDenied,
                         "permission denied for user.v1.UserService/UpdateUser: roles are set "
                         "by an admin"));
      return;
    }
  }
  service_->UpdateUser(request, FinishWithRow(call), call.deadline());
}

void UserHandler::DeleteUser(rpc::UnaryCall<v1::DeleteUserRequest, google::protobuf::Empty> call) {
  service_->DeleteUser(
      call.request(),
      [call](Result<void> deleted) {
        if (deleted.ok()) {
          call.Finish(google::protobuf::Empty());
        } else {
          call.Finish(deleted.status());
        }
      },
      call.deadline());
}

void UserHandler::ListUsers(rpc::ServerStream<v1::ListUsersRequest, v1::User> call) {
  Result<UserPage> page = ValidateList(call.request());
  if (!page.ok()) {
    call.Finish(page.status());
    return;
  }
  // A client's call lists the whole cluster; a member's (marked) lists this partition alone.
  const bool whole_cluster = service_->partition_scanner().Sources() > 0 &&
                             !call.metadata(cluster::kForwardedFromKey).has_value();
  std::make_shared<UserListStream>(service_, call, page->size, page->after, whole_cluster)->Start();
}

void UserHandler::WatchUserUpdates(rpc::ServerStream<v1::WatchUserRequest, v1::UserUpdate> call) {
  // In a cluster: served from the partitions that hold the users watched (services/cluster).
  if (const user::ClusterWatch& relay = service_->cluster_watch(); relay && relay(call)) return;
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
  auto watch = std::make_shared<UserWatch>(call, one_user, service_->options().watch_backlog_limit);
  watches_.emplace(watch_id, watch);
  call.OnCancel([this, watch_id] { EndWatch(watch_id, Status(StatusCode::kCancelled, "")); });

  // Registration: subscribe on the owner (one user) or on every shard (all users); once all
  // are in place, initial metadata tells the client it is registered.
  auto registered = [this, watch_id](runtime::ShardId shard,
                                     std::optional<storage::SubscriptionId> sub) {
    auto it = watches_.find(watch_id);
    if (it == watches_.end() || it->second->ended()) {  // ended meanwhile: undo
      if (sub) {
        service_->shards().RunOn(
            shard, [sub = *sub](UserShard& owner) { owner.partition.feed().Unsubscribe(sub); });
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
    runtime::ShardId owner = service_->shards().ShardFor(id.view());
    service_->shards().InvokeOn(
        owner,
        [id, home = shard_.id(),
         watch_id](UserShard& shard) -> std::optional<storage::SubscriptionId> {
          UserPartition& partition = shard.partition;
          if (!partition.Load(id)) return std::nullopt;
          return partition.feed().SubscribeKey(id, partition.outbox().SinkFor(home, watch_id));
        },
        [registered, owner](std::optional<storage::SubscriptionId> sub) {
          registered(owner, sub);
        });
    return;
  }
  size_t shards = service_->shards().size();
  watch->pending_registrations = static_cast<int>(shards);
  for (runtime::ShardId s = 0; s < shards; ++s) {
    service_->shards().InvokeOn(
        s,
        [home = shard_.id(), watch_id](UserShard& shard) -> std::optional<storage::SubscriptionId> {
          UserPartition& partition = shard.partition;
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
    service_->shards().RunOn(
        shard, [sub = sub](UserShard& owner) { owner.partition.feed().Unsubscribe(sub); });
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

std::shared_ptr<UserHandler::Def> MakeUserGrpcService(std::shared_ptr<UserService> service) {
  auto def = std::make_shared<UserHandler::Def>(
      rpc::FindServiceDescriptor("user.v1.UserService"), [service](runtime::Shard& shard) {
        service->StartShard(shard);
        return std::make_unique<UserHandler>(shard, service);
      });
  def->Unary("CreateUser", &UserHandler::CreateUser);
  def->Unary("GetUser", &UserHandler::GetUser);
  def->Unary("UpdateUser", &UserHandler::UpdateUser);
  def->Unary("DeleteUser", &UserHandler::DeleteUser);
  def->ServerStream("ListUsers", &UserHandler::ListUsers);
  def->ServerStream("WatchUserUpdates", &UserHandler::WatchUserUpdates);
  return def;
}

std::shared_ptr<UserHandler::Def> MakeUserService(UserServiceOptions options) {
  return MakeUserGrpcService(std::make_shared<UserService>(options));
}

}  // namespace percore::user
