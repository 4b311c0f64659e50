#pragma once
// Threading contract: one UserPartition per shard, owned by that shard's UserHandler; every
// member is used only on that shard's thread. Other shards reach it by hopping here.
//
// The users this shard owns (by ShardFor(id)), each stored as the serialized user.v1.User
// it is served as (GetUser answers with these bytes, no serialization); the slice of the email
// index whose keys hash here; and the change feed of this shard's users. Dragonfly-style: the
// functions here are the "ops" a handler runs as one hop on the owning shard.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/result.h"
#include "core/rpc/serialized_message.h"
#include "core/runtime/shard.h"
#include "core/storage/change_feed.h"
#include "core/storage/compact_blob.h"
#include "core/storage/table_partition.h"
#include "core/storage/unique_index_partition.h"
#include "services/user/user_id.h"
#include "services/user/user_validation.h"
#include "user/v1/user.pb.h"

namespace percore::user {

namespace v1 = ::user::v1;

// What watchers of this shard's users receive: a serialized user.v1.UserUpdate, built once per
// change and shared read-only by every shard and watcher it reaches. The slice is reference
// counted (atomically), so each stream's write takes a reference instead of a copy.
struct UserEvent {
  rpc::SerializedMessage bytes;
  bool deleted = false;
};
using SharedUserEvent = std::shared_ptr<const UserEvent>;

// The watchers one change reaches, grouped by the shard serving them, so that each such shard
// gets the event once (one task delivering to all its watchers) instead of one task and one
// copy per watcher. Each watcher's feed sink only notes its address here while the feed
// publishes; the partition flushes right after the publish, so per destination shard the
// events leave in commit order (and the FIFO mailbox keeps that order).
class WatchOutbox {
 public:
  using Send = std::function<void(runtime::ShardId shard, SharedUserEvent event,
                                  std::vector<uint64_t> watch_ids)>;
  using Sink = storage::ChangeFeed<UserId, SharedUserEvent>::Sink;

  // Without a Send (a partition outside a server) flushed events go nowhere.
  void set_send(Send send) { send_ = std::move(send); }
  // The feed sink of watch `watch_id` served on `shard`. The outbox must outlive the
  // subscription (both belong to the same partition).
  Sink SinkFor(runtime::ShardId shard, uint64_t watch_id);
  // Hands `event` to every shard noted since the last flush, with its watch ids.
  void Flush(const SharedUserEvent& event);

 private:
  Send send_;
  std::vector<std::vector<uint64_t>> by_shard_;  // indexed by ShardId
  std::vector<runtime::ShardId> noted_;          // shards with ids in by_shard_
};

// The statuses every user operation answers with, worded once.
Status UserNotFound(const UserId& id);
Status EmailTaken(const std::string& email);

class UserPartition {
 public:
  using Feed = storage::ChangeFeed<UserId, SharedUserEvent>;

  UserPartition() = default;
  // Sinks hold the address of the outbox: the partition stays where it was made.
  UserPartition(const UserPartition&) = delete;
  UserPartition& operator=(const UserPartition&) = delete;

  // nullopt if this shard has no such user.
  std::optional<v1::User> Load(const UserId& id) const;
  std::optional<rpc::SerializedMessage> LoadBytes(const UserId& id) const;
  bool Has(const UserId& id) const { return rows_.Get(id) != nullptr; }
  // Stores `user` (created or updated) and publishes the change (to the feed, then flushed
  // from the outbox); returns the stored bytes.
  std::string Store(const UserId& id, const v1::User& user, v1::UserUpdate::UpdateType type);
  // Puts a recovered row (serialized user.v1.User) back, without publishing: start-up only.
  void Restore(const UserId& id, std::string_view bytes);
  // Removes the user and publishes DELETED with the user as it was; nullopt if absent.
  std::optional<v1::User> Remove(const UserId& id);
  // Up to `limit` users with ids after `after` (all when nullptr), ascending, as bytes.
  std::vector<std::pair<UserId, rpc::SerializedMessage>> ScanAfter(const UserId* after,
                                                                   size_t limit) const;
  size_t size() const { return rows_.size(); }
  // The stored rows' bytes (serialized user.v1.User), for /metrics.
  size_t bytes() const { return rows_.bytes(); }

  // The ops of a multi-shard update, each one hop on this (the user's owner) shard:
  // The email key the user has now, after marking the user as changing it to `new_key` (when
  // that differs), so that a second email change at the same time is ABORTED. NOT_FOUND if the
  // user is gone.
  Result<std::string> BeginEmailChange(const UserId& id, const std::string& new_key);
  // A user being created (no row yet) is taking email key `key` until EndEmailChange.
  void BeginEmailTake(const UserId& id, const std::string& key) {
    email_changes_in_flight_[id] = key;
  }
  // The user is no longer changing its email (the claim of the new one failed).
  void EndEmailChange(const UserId& id) { email_changes_in_flight_.erase(id); }
  // Whether the user has email key `key` or is changing its email to it (between its claim and
  // its write): what the key's partition asks before freeing a claim of the user's as stale.
  bool HoldsEmail(const UserId& id, const std::string& key) const;
  // Applies `patch` at `now` (never moving updated_at backwards). `claimed_key`: the new email
  // key claimed for it ("" if none; its change is over either way). Returns the stored bytes and
  // in `release_key` the old email key to release, if the email changed. NOT_FOUND if the user
  // was deleted meanwhile (the caller gives `claimed_key` back).
  Result<std::string> ApplyPatch(const UserId& id, const UserPatch& patch,
                                 const std::string& claimed_key, int64_t now,
                                 std::string* release_key);
  // Removes the user; returns its email key, to release. NOT_FOUND if absent.
  Result<std::string> RemoveUser(const UserId& id);

  storage::UniqueIndexPartition<UserId>& emails() { return emails_; }

  // Claims of this shard's slice of the email index held by users of other partitions (a user
  // whose email moved here from its own partition's keys: email_claim_marks.h). Each is noted
  // with a sequence number, so a repair that found a claim stale frees only that claim, not one
  // its claimer took again meanwhile.
  struct RemoteClaim {
    UserId claimer;
    uint64_t seq = 0;
  };
  // Notes (again) `key`'s claim by `claimer` (already in emails()); returns its sequence number.
  uint64_t NoteRemoteClaim(const std::string& key, const UserId& claimer);
  // `key`'s claim by another partition's user, if it is one.
  const RemoteClaim* RemoteClaimOf(const std::string& key) const;
  // Frees `key`'s remote claim if it is still `claimer`'s as noted at `seq`; true if freed.
  bool FreeRemoteClaim(const std::string& key, const UserId& claimer, uint64_t seq);
  const std::map<std::string, RemoteClaim>& remote_claims() const { return remote_claims_; }
  // Releases `key`'s claim by `claimer` (a moved claim after a growth's switch); true if it was
  // another partition's user's (noted remote: its release is to be journaled).
  bool DropClaim(const std::string& key, const UserId& claimer);
  // For subscribing and unsubscribing: changes are published by Store and Remove, which flush
  // the outbox after the feed.
  Feed& feed() { return feed_; }
  WatchOutbox& outbox() { return outbox_; }
  // Users with an email-changing update between its claim and its apply, with the key being
  // claimed: a second one at the same time is ABORTED, so the claims of one user never
  // interleave.
  const std::map<UserId, std::string>& email_changes_in_flight() const {
    return email_changes_in_flight_;
  }

 private:
  // Publishes the change of `id` to the feed and flushes the outbox.
  void Publish(const UserId& id, const v1::User& user, v1::UserUpdate::UpdateType type);

  storage::BTreeTablePartition<UserId, storage::CompactBlob> rows_;  // ids arrive nearly in order
  storage::UniqueIndexPartition<UserId> emails_;
  Feed feed_;
  WatchOutbox outbox_;
  std::map<UserId, std::string> email_changes_in_flight_;
  std::map<std::string, RemoteClaim> remote_claims_;
  uint64_t next_claim_seq_ = 1;
};

}  // namespace percore::user
