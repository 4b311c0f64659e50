#pragma once
// Threading contract: a UserWatch lives on the shard that serves its WatchUserUpdates call and
// is used only there. Events reach it as tasks from the shards that own the users (one task per
// event and watching shard, see WatchOutbox); the event is shared, never modified.
//
// One watcher: its stream, its subscriptions on the owning shards, and a bounded backlog of
// events the stream could not take yet. The delivery rules of user-service.md live here:
// events arrive in each user's commit order (one owner shard per user, FIFO mailbox), each
// once; DELETED ends a one-user watch with OK; a watcher more than `backlog_limit` events
// behind is ended with RESOURCE_EXHAUSTED and its subscriptions dropped, so writers never wait
// and memory stays bounded.

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/rpc/server_stream_call.h"
#include "core/storage/bounded_event_queue.h"
#include "core/storage/change_feed.h"
#include "services/user/user_partition.h"
#include "user/v1/user.pb.h"

namespace percore::user {

class UserWatch : public std::enable_shared_from_this<UserWatch> {
 public:
  using Stream = rpc::ServerStream<v1::WatchUserRequest, v1::UserUpdate>;

  UserWatch(Stream stream, bool one_user, size_t backlog_limit)
      : stream_(std::move(stream)), one_user_(one_user), backlog_(backlog_limit) {}

  void Deliver(const SharedUserEvent& event);
  // Ends the stream with `status`; the caller drops the subscriptions.
  void End(const Status& status);
  bool ended() const { return ended_; }

  std::vector<std::pair<runtime::ShardId, storage::SubscriptionId>>& subscriptions() {
    return subscriptions_;
  }
  Stream& stream() { return stream_; }
  int pending_registrations = 0;

 private:
  void Flush();
  void WaitForRoom();

  Stream stream_;
  bool one_user_;
  bool ended_ = false;
  bool waiting_for_room_ = false;
  storage::BoundedEventQueue<SharedUserEvent> backlog_;
  std::vector<std::pair<runtime::ShardId, storage::SubscriptionId>> subscriptions_;
};

}  // namespace percore::user
