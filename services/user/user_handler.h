#pragma once
// Threading contract: one UserHandler per shard (rpc::ServiceDef), used only on its shard.
//
// The gRPC adapter of user.v1.UserService: each method parses nothing itself, calls the service
// API (UserService, where the rules and the cross-shard work live) and finishes the call with
// the answer. It also serves WatchUserUpdates streams: the watchers of this shard, subscribed to
// the owning shards' feeds, get each event once per watching shard (one task, the event shared).

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/rpc/service_def.h"
#include "services/user/user_service.h"
#include "services/user/user_watch.h"
#include "user/v1/user.pb.h"

namespace percore::user {

class UserHandler {
 public:
  using Def = rpc::ServiceDef<UserHandler>;

  UserHandler(runtime::Shard& shard, std::shared_ptr<UserService> service);

  void CreateUser(rpc::UnaryCall<v1::CreateUserRequest, v1::User> call);
  void GetUser(rpc::UnaryCall<v1::GetUserRequest, v1::User> call);
  void UpdateUser(rpc::UnaryCall<v1::UpdateUserRequest, v1::User> call);
  void DeleteUser(rpc::UnaryCall<v1::DeleteUserRequest, google::protobuf::Empty> call);
  // Another member's email claim (`claim`) or release, a marked CreateUser (email_claim_marks.h).
  void ServeEmailClaim(rpc::UnaryCall<v1::CreateUserRequest, v1::User> call, bool claim);
  void ListUsers(rpc::ServerStream<v1::ListUsersRequest, v1::User> call);
  void WatchUserUpdates(rpc::ServerStream<v1::WatchUserRequest, v1::UserUpdate> call);
  void OnDrain();

  UserPartition& partition() { return service_->shards().local().partition; }
  size_t watch_count() const { return watches_.size(); }

 private:
  void DeliverToWatches(const std::vector<uint64_t>& watch_ids, const SharedUserEvent& event);
  void EndWatch(uint64_t watch_id, const Status& status);
  void Unsubscribe(UserWatch& watch);

  runtime::Shard& shard_;
  std::shared_ptr<UserService> service_;
  uint64_t next_watch_id_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<UserWatch>> watches_;
};

// The gRPC registration of `service` (a new one when null): each shard's part of the service is
// started with the shard's handler.
std::shared_ptr<UserHandler::Def> MakeUserGrpcService(std::shared_ptr<UserService> service);
// Both at once, for a server that hosts the service and needs no handle on its API.
std::shared_ptr<UserHandler::Def> MakeUserService(UserServiceOptions options = {});

}  // namespace percore::user
