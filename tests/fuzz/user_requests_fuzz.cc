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

enum Method { kCreate, kGet, kUpdate, kDelete, kList, kWatch, kMethodCount };
constexpr int kMaxPageSize = 1000;  // as user_handler.cc
constexpr int kDefaultPageSize = 100;

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
  bool want_name = request.has_name();
  bool want_email = request.has_email();
  bool want_roles = request.roles_size() > 0;
  if (request.has_update_mask()) {  // as UserHandler::UpdateUser: the mask alone decides
    want_name = want_email = want_roles = false;
    for (const std::string& path : request.update_mask().paths()) {
      if (path == "name") {
        want_name = true;
      } else if (path == "email") {
        want_email = true;
      } else if (path == "roles") {
        want_roles = true;
      } else {
        return;  // INVALID_ARGUMENT
      }
    }
  }
  std::optional<std::string> name, email;
  std::optional<std::vector<std::string>> roles;
  if (want_name && !ValidateName(request.name(), &name.emplace()).ok()) return;
  if (want_email && !ValidateEmail(request.email(), &email.emplace()).ok()) return;
  if (want_roles && !ValidateRoles(request.roles(), &roles.emplace()).ok()) return;
  std::optional<v1::User> user = shard.partition.Load(id);
  FUZZ_CHECK(user.has_value() == shard.email_keys.contains(id));
  if (!user) return;  // NOT_FOUND
  if (email) {
    std::string old_key = EmailKey(user->email());
    std::string new_key = EmailKey(*email);
    FUZZ_CHECK(old_key == shard.email_keys[id]);
    if (new_key != old_key) {
      if (!shard.partition.emails().Claim(new_key, id).ok()) return;  // ALREADY_EXISTS
      FUZZ_CHECK(shard.partition.emails().Release(old_key, id));
      shard.email_keys[id] = new_key;
    }
    user->set_email(*email);
  }
  if (name) user->set_name(*name);
  if (roles) {
    user->clear_roles();
    for (const std::string& role : *roles) user->add_roles(role);
  }
  shard.partition.Store(id, *user, v1::UserUpdate::UPDATE_TYPE_UPDATED);
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
  if (!DecodeRequest(bytes, &request) || request.page_size() < 0) return;
  int size =
      request.page_size() == 0 ? kDefaultPageSize : std::min(request.page_size(), kMaxPageSize);
  std::optional<UserId> after;
  if (!request.page_token().empty()) {
    after = DecodePageToken(request.page_token());
    if (!after) return;  // INVALID_ARGUMENT
  }
  auto page = shard.partition.ScanAfter(after ? &*after : nullptr, static_cast<size_t>(size) + 1);
  FUZZ_CHECK(page.size() <= static_cast<size_t>(size) + 1);
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

}  // namespace
}  // namespace percore::user

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  percore::fuzz::SilenceProtobufLogs();
  percore::fuzz::CheckMethods(
      "user.v1.UserService",
      {"CreateUser", "GetUser", "UpdateUser", "DeleteUser", "ListUsers", "WatchUserUpdates"});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace percore::user;
  percore::fuzz::Session session;
  if (!percore::fuzz::ParseSession(data, size, &session)) return -1;  // not kept in the corpus
  Shard shard;
  int calls = 0;
  for (const auto& call : session.calls()) {
    if (++calls > percore::fuzz::kMaxCalls) break;
    const std::string& bytes = call.request();
    switch (call.method() % kMethodCount) {
      case kCreate:
        Create(shard, bytes);
        break;
      case kGet:
        Get(shard, bytes);
        break;
      case kUpdate:
        Update(shard, bytes);
        break;
      case kDelete:
        Delete(shard, bytes);
        break;
      case kList:
        List(shard, bytes);
        break;
      case kWatch:
        Watch(shard, bytes);
        break;
    }
  }
  FUZZ_CHECK(shard.partition.size() == shard.email_keys.size());
  for (const auto& [id, key] : shard.email_keys) {
    const UserId* owner = shard.partition.emails().OwnerOf(key);
    FUZZ_CHECK(owner != nullptr && *owner == id);
  }
  return 0;
}
