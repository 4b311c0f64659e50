#include "services/user/user_partition.h"

#include <grpcpp/support/slice.h>

namespace percore::user {

grpc::ByteBuffer ToByteBuffer(std::string_view bytes) {
  grpc::Slice slice(bytes.data(), bytes.size());
  return grpc::ByteBuffer(&slice, 1);
}

std::optional<v1::User> UserPartition::Load(const UserId& id) const {
  const storage::CompactBlob* blob = rows_.Get(id);
  if (blob == nullptr) return std::nullopt;
  v1::User user;
  std::string_view bytes = blob->view();
  user.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  return user;
}

std::optional<grpc::ByteBuffer> UserPartition::LoadBytes(const UserId& id) const {
  const storage::CompactBlob* blob = rows_.Get(id);
  if (blob == nullptr) return std::nullopt;
  return ToByteBuffer(blob->view());
}

namespace {
std::string SerializeUpdate(const UserId& id, const v1::User& user,
                            v1::UserUpdate::UpdateType type) {
  v1::UserUpdate update;
  update.set_user_id(id.ToString());
  update.set_type(type);
  *update.mutable_user() = user;
  return update.SerializeAsString();
}
}  // namespace

std::string UserPartition::Store(const UserId& id, const v1::User& user,
                                 v1::UserUpdate::UpdateType type) {
  std::string bytes = user.SerializeAsString();
  rows_.Put(id, storage::CompactBlob::CopyOf(bytes));
  // The event is serialized only when someone watches this user or every user.
  feed_.PublishWith(id, [&] { return UserEvent{SerializeUpdate(id, user, type), false}; });
  return bytes;
}

std::optional<v1::User> UserPartition::Remove(const UserId& id) {
  std::optional<v1::User> user = Load(id);
  if (!user) return std::nullopt;
  rows_.Erase(id);
  feed_.PublishWith(id, [&] {
    return UserEvent{SerializeUpdate(id, *user, v1::UserUpdate::UPDATE_TYPE_DELETED), true};
  });
  return user;
}

std::vector<std::pair<UserId, grpc::ByteBuffer>> UserPartition::ScanAfter(const UserId* after,
                                                                          size_t limit) const {
  std::vector<std::pair<UserId, grpc::ByteBuffer>> run;
  auto collect = [&](const UserId& id, const storage::CompactBlob& blob) {
    run.emplace_back(id, ToByteBuffer(blob.view()));
  };
  if (after == nullptr) {
    rows_.ScanAfter(nullptr, limit, collect);
  } else {
    rows_.ScanAfter(after, limit, collect);
  }
  return run;
}

}  // namespace percore::user
