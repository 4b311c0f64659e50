#pragma once
// Threading contract: one UserPartition per shard, owned by that shard's UserHandler; every
// member is used only on that shard's thread. Other shards reach it by hopping here.
//
// The users this shard owns (by PartitionOf(id)), each stored as the serialized user.v1.User
// it is served as (GetUser answers with these bytes, no serialization); the slice of the email
// index whose keys hash here; and the change feed of this shard's users. Dragonfly-style: the
// functions here are the "ops" a handler runs as one hop on the owning shard.

#include <grpcpp/support/byte_buffer.h>

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/storage/change_feed.h"
#include "core/storage/compact_blob.h"
#include "core/storage/table_partition.h"
#include "core/storage/unique_index_partition.h"
#include "services/user/user_id.h"
#include "user/v1/user.pb.h"

namespace percore::user {

namespace v1 = ::user::v1;

// What watchers of this shard's users receive: a serialized user.v1.UserUpdate.
struct UserEvent {
  std::string bytes;
  bool deleted = false;
};

// Bytes as a gRPC message, copied once.
grpc::ByteBuffer ToByteBuffer(std::string_view bytes);

class UserPartition {
 public:
  using Feed = storage::ChangeFeed<UserId, UserEvent>;

  // nullopt if this shard has no such user.
  std::optional<v1::User> Load(const UserId& id) const;
  std::optional<grpc::ByteBuffer> LoadBytes(const UserId& id) const;
  // Stores `user` (created or updated) and publishes the change; returns the stored bytes.
  std::string Store(const UserId& id, const v1::User& user, v1::UserUpdate::UpdateType type);
  // Removes the user and publishes DELETED with the user as it was; nullopt if absent.
  std::optional<v1::User> Remove(const UserId& id);
  // Up to `limit` users with ids after `after` (all when nullptr), ascending, as bytes.
  std::vector<std::pair<UserId, grpc::ByteBuffer>> ScanAfter(const UserId* after,
                                                             size_t limit) const;
  size_t size() const { return rows_.size(); }

  storage::UniqueIndexPartition<UserId>& emails() { return emails_; }
  Feed& feed() { return feed_; }
  // Users with an email-changing update between its claim and its apply: a second one at the
  // same time is ABORTED, so the claims of one user never interleave.
  std::set<UserId>& email_changes_in_flight() { return email_changes_in_flight_; }

 private:
  storage::TablePartition<UserId, storage::CompactBlob> rows_;
  storage::UniqueIndexPartition<UserId> emails_;
  Feed feed_;
  std::set<UserId> email_changes_in_flight_;
};

}  // namespace percore::user
