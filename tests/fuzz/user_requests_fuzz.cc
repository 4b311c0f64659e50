// Fuzz target: every method of user.v1.UserService, from request bytes to the shard's store.
//
// A session of calls (session.proto) runs against one fresh UserPartition, as on a one-shard
// server: each request is decoded, validated by the same functions and in the same order as
// UserHandler, and applied with the partition's ops (the handler's hops, made directly). New
// users get the ids 01900000-0000-7000-8000-0000000000NN (NN = 00, 01, ... in creation order),
// so seeds and mutations can name them. Checked after every call: what was stored reads back as
// validated, the email index and the rows agree, and pages ascend and their tokens round-trip.

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "services/user/page_token.h"
#include "services/user/user_partition.h"
#include "services/user/user_validation.h"
#include "tests/fuzz/fuzz_support.h"
#include "user/v1/user.pb.h"

namespace percore::user {
namespace {

using fuzz::DecodeRequest;

constexpr int64_t kNow = 1'700'000'000'000'000'000;  // updates happen at one fixed time

struct Shard {
  UserPartition partition;
  std::map<UserId, std::string> email_keys;  // the model: live users and their email keys
  int created = 0;
  uint64_t next_watch = 0;
};

UserId NewId(Shard& shard) {
  UserId id = *UserId::Parse("01900000-0000-7000-8000-000000000000");
  id.bytes[15] = static_cast<uint8_t>(shard.created++);
  return id;
}

void CheckStored(Shard& shard, const UserId& id, const v1::User& expected) {
  std::optional<v1::User> loaded = shard.partition.Load(id);
  FUZZ_CHECK(loaded.has_value());
  FUZZ_CHECK(loaded->id() == id.ToString());
  FUZZ_CHECK(loaded->name() == expected.name());
  FUZZ_CHECK(loaded->email() == expected.email());
  FUZZ_CHECK(std::equal(loaded->roles().begin(), loaded->roles().end(), expected.roles().begin(),
                        expected.roles().end()));
  std::optional<rpc::SerializedMessage> bytes = shard.partition.LoadBytes(id);
  FUZZ_CHECK(bytes.has_value());
}

void Create(Shard& shard, const std::string& bytes) {
  v1::CreateUserRequest request;
  if (!DecodeRequest(bytes, &request)) return;
  std::string name, email;
  std::vector<std::string> roles;
  if (!ValidateName(request.name(), &name).ok() || !ValidateEmail(request.email(), &email).ok() ||
      !ValidateRoles(request.roles(), &roles).ok()) {
    return;
  }
  FUZZ_CHECK(!name.empty() && email.find('@') != std::string::npos);
  if (shard.created > 255) return;  // the id space of NewId
  UserId id = NewId(shard);
  std::string key = EmailKey(email);
  FUZZ_CHECK(EmailKey(key) == key);
  bool claimed = shard.partition.emails().Claim(key, id).ok();
  bool taken = std::any_of(shard.email_keys.begin(), shard.email_keys.end(),
                           [&](const auto& entry) { return entry.second == key; });
  FUZZ_CHECK(claimed == !taken);  // ALREADY_EXISTS exactly when another user has the email
  if (!claimed) return;
  v1::User user;
  user.set_id(id.ToString());
  user.set_name(name);
  user.set_email(email);
  for (const std::string& role : roles) user.add_roles(role);
  shard.partition.Store(id, user, v1::UserUpdate::UPDATE_TYPE_CREATED);
  shard.email_keys[id] = key;
  CheckStored(shard, id, user);
}

void Get(Shard& shard, const std::string& bytes) {
  v1::GetUserRequest request;
  UserId id;
  if (!DecodeRequest(bytes, &request) || !ParseUserId(request.id(), "id", &id).ok()) return;
  FUZZ_CHECK(shard.partition.LoadBytes(id).has_value() == shard.email_keys.contains(id));
}

void Update(Shard& shard, const std::string& bytes) {
  v1::UpdateUserRequest request;
  UserId id;
  if (!DecodeRequest(bytes, &request) || !ParseUserId(request.id(), "id", &id).ok()) return;
  Result<UserPatch> patch = ValidateUpdate(request);  // as UserService::UpdateUser
  if (!patch.ok()) {
    FUZZ_CHECK(patch.code() == StatusCode::kInvalidArgument);
    return;
  }
  bool exists = shard.email_keys.contains(id);
  std::string claimed;  // the new email key this update holds, as on one shard
  if (patch->email) {
    std::string new_key = EmailKey(*patch->email);
    Result<std::string> current = shard.partition.BeginEmailChange(id, new_key);
    FUZZ_CHECK(current.ok() == exists);
    if (!current.ok()) return;  // NOT_FOUND (one request at a time: never ABORTED)
    FUZZ_CHECK(*current == shard.email_keys[id]);
    if (*current != new_key) {
      if (!shard.partition.emails().Claim(new_key, id).ok()) {  // ALREADY_EXISTS
        shard.partition.EndEmailChange(id);
        return;
      }
      claimed = new_key;
    }
  }
  std::string release;
  Result<std::string> stored = shard.partition.ApplyPatch(id, *patch, claimed, kNow, &release);
  FUZZ_CHECK(stored.ok() == exists);
  if (!stored.ok()) return;  // NOT_FOUND
  if (!release.empty()) {
    FUZZ_CHECK(release == shard.email_keys[id]);
    FUZZ_CHECK(shard.partition.emails().Release(release, id));
    shard.email_keys[id] = claimed;
  }
  std::optional<v1::User> user = shard.partition.Load(id);
  FUZZ_CHECK(user.has_value());
  if (patch->name) FUZZ_CHECK(user->name() == *patch->name);
  if (patch->email) FUZZ_CHECK(user->email() == *patch->email);
  CheckStored(shard, id, *user);
}

void Delete(Shard& shard, const std::string& bytes) {
  v1::DeleteUserRequest request;
  UserId id;
  if (!DecodeRequest(bytes, &request) || !ParseUserId(request.id(), "id", &id).ok()) return;
  std::optional<v1::User> removed = shard.partition.Remove(id);
  FUZZ_CHECK(removed.has_value() == shard.email_keys.contains(id));
  if (!removed) return;
  FUZZ_CHECK(shard.partition.emails().Release(EmailKey(removed->email()), id));
  shard.email_keys.erase(id);
  FUZZ_CHECK(!shard.partition.Load(id).has_value());
}

void List(Shard& shard, const std::string& bytes) {
  v1::ListUsersRequest request;
  if (!DecodeRequest(bytes, &request)) return;
  Result<UserPage> asked = ValidateList(request);
  if (!asked.ok()) return;  // INVALID_ARGUMENT
  std::optional<UserId> after = asked->after;
  size_t size = asked->size;
  FUZZ_CHECK(size >= 1 && size <= 1000);
  auto page = shard.partition.ScanAfter(after ? &*after : nullptr, size + 1);
  FUZZ_CHECK(page.size() <= size + 1);
  for (size_t i = 0; i < page.size(); ++i) {
    FUZZ_CHECK(!after || *after < page[i].first);
    FUZZ_CHECK(i == 0 || page[i - 1].first < page[i].first);
    FUZZ_CHECK(shard.email_keys.contains(page[i].first));
  }
  if (!page.empty()) {
    std::optional<UserId> next = DecodePageToken(EncodePageToken(page.back().first));
    FUZZ_CHECK(next && *next == page.back().first);
  }
}

void Watch(Shard& shard, const std::string& bytes) {
  v1::WatchUserRequest request;
  if (!DecodeRequest(bytes, &request)) return;
  UserPartition& partition = shard.partition;
  // A watch subscribes on the owner (here); the outbox has no sender, so events go nowhere,
  // but every later Store and Remove in the session publishes through these subscriptions.
  WatchOutbox::Sink sink = partition.outbox().SinkFor(0, shard.next_watch++);
  if (request.user_id().empty()) {
    partition.feed().SubscribeAll(std::move(sink));
    return;
  }
  UserId id;
  if (!ParseUserId(request.user_id(), "user_id", &id).ok()) return;
  if (!partition.Load(id)) return;  // NOT_FOUND
  partition.feed().SubscribeKey(id, std::move(sink));
}

// The model's emails and the partition's email index agree.
void CheckEmailIndex(Shard& shard) {
  FUZZ_CHECK(shard.partition.size() == shard.email_keys.size());
  for (const auto& [id, key] : shard.email_keys) {
    const UserId* owner = shard.partition.emails().OwnerOf(key);
    FUZZ_CHECK(owner != nullptr && *owner == id);
  }
}

const fuzz::Method<Shard> kMethods[] = {
    {"CreateUser", Create}, {"GetUser", Get},    {"UpdateUser", Update},
    {"DeleteUser", Delete}, {"ListUsers", List}, {"WatchUserUpdates", Watch},
};

}  // namespace
}  // namespace percore::user

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  percore::fuzz::InitializeSessionTarget("user.v1.UserService", percore::user::kMethods);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace percore::user;
  return percore::fuzz::RunSession(data, size, kMethods, {.at_end = CheckEmailIndex});
}
