#pragma once
// Threading contract: a UserWatch lives on the shard that serves its WatchUserUpdates call and
// is used only there. Events reach it as tasks from the shards that own the users (one task per
// event and watching shard, see WatchOutbox); the event is shared, never modified.
//
// One watcher: its stream (with the bounded backlog of rpc::WatchStream) and its subscriptions
// on the owning shards. The delivery rules of user-service.md: events arrive in each user's
// commit order (one owner shard per user, FIFO mailbox), each once; DELETED ends a one-user
// watch with OK; a watcher too far behind ends with RESOURCE_EXHAUSTED and its subscriptions
// are dropped.

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/rpc/server_stream_call.h"
#include "core/rpc/watch_stream.h"
#include "core/storage/change_feed.h"
#include "services/user/user_partition.h"
#include "user/v1/user.pb.h"

namespace percore::user {

class UserWatch final
    : public rpc::WatchStream<rpc::ServerStream<v1::WatchUserRequest, v1::UserUpdate>,
                              SharedUserEvent> {
 public:
  using Stream = rpc::ServerStream<v1::WatchUserRequest, v1::UserUpdate>;

  UserWatch(Stream stream, bool one_user, size_t backlog_limit)
      : WatchStream(std::move(stream), backlog_limit, "read the user again and re-watch"),
        one_user_(one_user) {}

  std::vector<std::pair<runtime::ShardId, storage::SubscriptionId>>& subscriptions() {
    return subscriptions_;
  }
  int pending_registrations = 0;

 private:
  bool Write(const SharedUserEvent& event) override;

  bool one_user_;
  std::vector<std::pair<runtime::ShardId, storage::SubscriptionId>> subscriptions_;
};

}  // namespace percore::user
