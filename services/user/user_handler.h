#pragma once
// Threading contract: one UserHandler per shard (rpc::ServiceDef), used only on its shard.
// A handler reaches another shard's data only by a Hop that runs an op on that shard's
// UserPartition and continues here with owned results.
//
// user.v1.UserService with the rules of user-service.md. Where data lives:
//   - a user on shard PartitionOf(id): CreateUser picks an id that hashes to the shard the call
//     arrived on, so creating needs no hop for the row;
//   - an email claim on shard PartitionOf(lower-cased email): the unique index. Create claims
//     the email, then writes the row; Update claims the new email, writes the row, then
//     releases the old one; Delete removes the row, then releases its email. Releases finish
//     before the reply, so a freed email is free at once. Of concurrent claims exactly one wins.
//   - watchers on the shard serving their stream, subscribed to the owning shards' feeds. An
//     event goes to each watching shard once (one task, the event shared) and is delivered
//     there to each of its watchers.

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/base/status.h"
#include "core/rpc/service_def.h"
#include "services/user/user_id.h"
#include "services/user/user_partition.h"
#include "services/user/user_watch.h"
#include "user/v1/user.pb.h"

namespace percore::user {

struct UserServiceOptions {
  // Events a watcher may fall behind before its stream ends with RESOURCE_EXHAUSTED.
  size_t watch_backlog_limit = 1024;
};

class UserHandler {
 public:
  using Def = rpc::ServiceDef<UserHandler>;

  UserHandler(runtime::Shard& shard, Def* def, UserServiceOptions options);

  void CreateUser(rpc::UnaryCall<v1::CreateUserRequest, v1::User> call);
  void GetUser(rpc::UnaryCall<v1::GetUserRequest, v1::User> call);
  void UpdateUser(rpc::UnaryCall<v1::UpdateUserRequest, v1::User> call);
  void DeleteUser(rpc::UnaryCall<v1::DeleteUserRequest, google::protobuf::Empty> call);
  void ListUsers(rpc::ServerStream<v1::ListUsersRequest, v1::User> call);
  void WatchUserUpdates(rpc::ServerStream<v1::WatchUserRequest, v1::UserUpdate> call);
  void OnDrain();

  UserPartition& partition() { return partition_; }
  size_t watch_count() const { return watches_.size(); }

 private:
  struct Patch;
  void ApplyUpdate(rpc::UnaryCall<v1::UpdateUserRequest, v1::User> call, UserId id,
                   std::shared_ptr<Patch> patch, std::string claimed_key);
  void DeliverToWatches(const std::vector<uint64_t>& watch_ids, const SharedUserEvent& event);
  void EndWatch(uint64_t watch_id, const Status& status);
  void Unsubscribe(UserWatch& watch);
  runtime::ShardId OwnerOf(const UserId& id) const;
  runtime::ShardId ShardOfEmail(const std::string& key) const;

  runtime::Shard& shard_;
  runtime::Runtime& runtime_;
  Def* def_;
  UserServiceOptions options_;
  UserPartition partition_;
  UserIdGenerator ids_;
  uint64_t next_watch_id_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<UserWatch>> watches_;
};

std::shared_ptr<UserHandler::Def> MakeUserService(UserServiceOptions options = {});

}  // namespace percore::user
