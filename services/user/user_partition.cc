#include "services/user/user_partition.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cstring>

#include "services/user/user_validation.h"

namespace percore::user {

Status UserNotFound(const UserId& id) {
  return Status(StatusCode::kNotFound, "user " + id.ToString() + " not found");
}

Status EmailTaken(const std::string& email) {
  return Status(StatusCode::kAlreadyExists, "email \"" + email + "\" is already in use");
}

namespace {

// A row is the serialized User without its id field (field 1, which protobuf writes first):
// the id is the row's key already, and leaving it out saves 38 bytes per user. It is put back
// in front when the row is served (protobuf accepts fields in any order).
constexpr size_t kIdFieldSize = 2 + 36;  // tag, length, canonical text

std::string_view WithoutIdField(std::string_view bytes) {
  if (bytes.size() >= kIdFieldSize && bytes[0] == 0x0a && bytes[1] == 36) {
    bytes.remove_prefix(kIdFieldSize);
  }
  return bytes;
}

// The served message in one slice, the id field written straight into it: one allocation and
// one copy of the row per GetUser and per ListUsers message (it was a std::string for the id
// plus two slices: three allocations and copies).
rpc::SerializedMessage RowAsMessage(const UserId& id, const storage::CompactBlob& row) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string_view rest = row.view();
  auto message = rpc::SerializedMessage::Uninitialized(kIdFieldSize + rest.size());
  auto* out = reinterpret_cast<uint8_t*>(message.fill());
  *out++ = 0x0a;  // field 1, length-delimited
  *out++ = 36;
  for (size_t i = 0; i < id.bytes.size(); ++i) {  // UserId::ToString's text, without a string
    if (i == 4 || i == 6 || i == 8 || i == 10) *out++ = '-';
    *out++ = kHex[id.bytes[i] >> 4];
    *out++ = kHex[id.bytes[i] & 0xf];
  }
  std::memcpy(out, rest.data(), rest.size());
  return message;
}

}  // namespace

std::optional<v1::User> UserPartition::Load(const UserId& id) const {
  const storage::CompactBlob* row = rows_.Get(id);
  if (row == nullptr) return std::nullopt;
  v1::User user;
  std::string_view bytes = row->view();
  user.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  user.set_id(id.ToString());
  return user;
}

std::optional<rpc::SerializedMessage> UserPartition::LoadBytes(const UserId& id) const {
  const storage::CompactBlob* row = rows_.Get(id);
  if (row == nullptr) return std::nullopt;
  return RowAsMessage(id, *row);
}

WatchOutbox::Sink WatchOutbox::SinkFor(runtime::ShardId shard, uint64_t watch_id) {
  return [this, shard, watch_id](const UserId&, uint64_t, const SharedUserEvent&) {
    if (by_shard_.size() <= shard) by_shard_.resize(shard + 1);
    if (by_shard_[shard].empty()) noted_.push_back(shard);
    by_shard_[shard].push_back(watch_id);
  };
}

void WatchOutbox::Flush(const SharedUserEvent& event) {
  for (runtime::ShardId shard : noted_) {
    std::vector<uint64_t> ids = std::move(by_shard_[shard]);
    by_shard_[shard].clear();  // moved-from: make it empty for sure
    if (send_) send_(shard, event, std::move(ids));
  }
  noted_.clear();
}

namespace {

// The event serialized straight into a slice: one allocation, shared by every delivery.
SharedUserEvent MakeEvent(const UserId& id, const v1::User& user, v1::UserUpdate::UpdateType type) {
  v1::UserUpdate update;
  update.set_user_id(id.ToString());
  update.set_type(type);
  *update.mutable_user() = user;
  auto bytes = rpc::SerializedMessage::Uninitialized(update.ByteSizeLong());
  update.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(bytes.fill()));
  return std::make_shared<const UserEvent>(
      UserEvent{std::move(bytes), type == v1::UserUpdate::UPDATE_TYPE_DELETED});
}

}  // namespace

void UserPartition::Publish(const UserId& id, const v1::User& user,
                            v1::UserUpdate::UpdateType type) {
  // The event is serialized only when someone watches this user or every user.
  SharedUserEvent event;
  feed_.PublishWith(id, [&]() -> const SharedUserEvent& {
    event = MakeEvent(id, user, type);
    return event;
  });
  if (event) outbox_.Flush(event);
}

std::string UserPartition::Store(const UserId& id, const v1::User& user,
                                 v1::UserUpdate::UpdateType type) {
  std::string bytes = user.SerializeAsString();
  rows_.Put(id, storage::CompactBlob::CopyOf(WithoutIdField(bytes)));
  Publish(id, user, type);
  return bytes;
}

void UserPartition::Restore(const UserId& id, std::string_view bytes) {
  rows_.Put(id, storage::CompactBlob::CopyOf(WithoutIdField(bytes)));
}

std::optional<v1::User> UserPartition::Remove(const UserId& id) {
  std::optional<v1::User> user = Load(id);
  if (!user) return std::nullopt;
  rows_.Erase(id);
  Publish(id, *user, v1::UserUpdate::UPDATE_TYPE_DELETED);
  return user;
}

Result<std::string> UserPartition::BeginEmailChange(const UserId& id, const std::string& new_key) {
  std::optional<v1::User> user = Load(id);
  if (!user) return UserNotFound(id);
  std::string key = EmailKey(user->email());
  if (key != new_key && !email_changes_in_flight_.emplace(id, new_key).second) {
    return Status(StatusCode::kAborted,
                  "another update is changing the email of user " + id.ToString() + "; retry");
  }
  return key;
}

bool UserPartition::HoldsEmail(const UserId& id, const std::string& key) const {
  auto changing = email_changes_in_flight_.find(id);
  if (changing != email_changes_in_flight_.end() && changing->second == key) return true;
  std::optional<v1::User> user = Load(id);
  return user && EmailKey(user->email()) == key;
}

uint64_t UserPartition::NoteRemoteClaim(const std::string& key, const UserId& claimer) {
  RemoteClaim& claim = remote_claims_[key];
  claim = RemoteClaim{claimer, next_claim_seq_++};
  return claim.seq;
}

const UserPartition::RemoteClaim* UserPartition::RemoteClaimOf(const std::string& key) const {
  auto it = remote_claims_.find(key);
  return it == remote_claims_.end() ? nullptr : &it->second;
}

bool UserPartition::FreeRemoteClaim(const std::string& key, const UserId& claimer, uint64_t seq) {
  auto it = remote_claims_.find(key);
  if (it == remote_claims_.end() || !(it->second.claimer == claimer) || it->second.seq != seq) {
    return false;
  }
  remote_claims_.erase(it);
  emails_.Release(key, claimer);
  return true;
}

bool UserPartition::DropClaim(const std::string& key, const UserId& claimer) {
  emails_.Release(key, claimer);
  auto it = remote_claims_.find(key);
  if (it == remote_claims_.end() || !(it->second.claimer == claimer)) return false;
  remote_claims_.erase(it);
  return true;
}

Result<std::string> UserPartition::ApplyPatch(const UserId& id, const UserPatch& patch,
                                              const std::string& claimed_key, int64_t now,
                                              std::string* release_key) {
  if (!claimed_key.empty()) email_changes_in_flight_.erase(id);
  std::optional<v1::User> user = Load(id);
  if (!user) return UserNotFound(id);
  if (patch.name) user->set_name(*patch.name);
  if (patch.email) {
    std::string old_key = EmailKey(user->email());
    if (!claimed_key.empty() && old_key != claimed_key) *release_key = old_key;
    user->set_email(*patch.email);
  }
  if (patch.roles) {
    user->clear_roles();
    for (const std::string& role : *patch.roles) user->add_roles(role);
  }
  int64_t previous = google::protobuf::util::TimeUtil::TimestampToNanoseconds(user->updated_at());
  *user->mutable_updated_at() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(std::max(now, previous));
  return Store(id, *user, v1::UserUpdate::UPDATE_TYPE_UPDATED);
}

Result<std::string> UserPartition::RemoveUser(const UserId& id) {
  std::optional<v1::User> user = Remove(id);
  if (!user) return UserNotFound(id);
  return EmailKey(user->email());
}

std::vector<std::pair<UserId, rpc::SerializedMessage>> UserPartition::ScanAfter(
    const UserId* after, size_t limit) const {
  std::vector<std::pair<UserId, rpc::SerializedMessage>> run;
  auto collect = [&](const UserId& id, const storage::CompactBlob& blob) {
    run.emplace_back(id, RowAsMessage(id, blob));
  };
  if (after == nullptr) {
    rows_.ScanAfter(nullptr, limit, collect);
  } else {
    rows_.ScanAfter(after, limit, collect);
  }
  return run;
}

}  // namespace percore::user
