#pragma once
// Threading contract: a UserServiceTest is driven from the test's main thread. The free helpers
// take the stub to use, so worker threads call them with their own stubs (one connection each,
// which spreads calls over the shards).
//
// Black-box helpers for user.v1.UserService (shared/spec/user-service.md): a real percore server
// hosting "user" on a loopback port (ServerFixture) and the generated gRPC client. Nothing here
// knows how the service is built.

#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/testing/e2e.h"
#include "user/v1/user.grpc.pb.h"

namespace percore::user_test {

namespace v1 = ::user::v1;
using namespace ::percore::testing::e2e;
using ::grpc::Status;
using ::grpc::StatusCode;
using Stub = v1::UserService::Stub;

// Well-formed (canonical lowercase UUIDv7) and never issued by a fresh server.
constexpr char kUnknownId[] = "01890a5d-ac96-774b-bcce-b302099a8057";

inline int64_t Nanos(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1'000'000'000 + t.nanos();
}

inline int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Canonical lowercase 8-4-4-4-12 hex, version nibble 7, variant bits 10.
inline ::testing::AssertionResult IsCanonicalUuidV7(const std::string& id) {
  if (id.size() != 36) return ::testing::AssertionFailure() << "\"" << id << "\": not 36 chars";
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return ::testing::AssertionFailure() << "\"" << id << "\": no '-' at " << i;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return ::testing::AssertionFailure()
             << "\"" << id << "\": '" << c << "' at " << i << " is not lowercase hex";
    }
  }
  if (id[14] != '7') return ::testing::AssertionFailure() << "\"" << id << "\": version not 7";
  if (std::string("89ab").find(id[19]) == std::string::npos) {
    return ::testing::AssertionFailure() << "\"" << id << "\": variant not 10xx";
  }
  return ::testing::AssertionSuccess();
}

// The Unix milliseconds in a UUIDv7's first 48 bits.
inline int64_t UuidMillis(const std::string& id) {
  std::string hex = id.substr(0, 8) + id.substr(9, 4);
  return static_cast<int64_t>(std::stoull(hex, nullptr, 16));
}

inline ::testing::AssertionResult SameUser(const v1::User& actual, const v1::User& expected) {
  if (google::protobuf::util::MessageDifferencer::Equals(actual, expected)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "got {" << actual.ShortDebugString() << "}, expected {"
                                       << expected.ShortDebugString() << "}";
}

inline std::vector<std::string> Roles(const v1::User& user) {
  return {user.roles().begin(), user.roles().end()};
}

inline std::string Repeat(const std::string& piece, size_t times) {
  std::string out;
  for (size_t i = 0; i < times; ++i) out += piece;
  return out;
}

inline std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

inline std::vector<std::string> Ids(const std::vector<v1::User>& users) {
  std::vector<std::string> ids;
  for (const auto& u : users) ids.push_back(u.id());
  return ids;
}

inline ::testing::AssertionResult StrictlyAscending(const std::vector<std::string>& ids) {
  for (size_t i = 1; i < ids.size(); ++i) {
    if (!(ids[i - 1] < ids[i])) {
      return ::testing::AssertionFailure() << "position " << i << ": \"" << ids[i]
                                           << "\" does not follow \"" << ids[i - 1] << "\"";
    }
  }
  return ::testing::AssertionSuccess();
}

// A distinct valid email per index.
inline std::string Email(int i) { return "user" + std::to_string(i) + "@example.com"; }

inline v1::CreateUserRequest CreateRequest(const std::string& name, const std::string& email,
                                           const std::vector<std::string>& roles = {}) {
  v1::CreateUserRequest request;
  request.set_name(name);
  request.set_email(email);
  for (const auto& role : roles) request.add_roles(role);
  return request;
}

inline Status CreateUser(Stub& stub, const v1::CreateUserRequest& request,
                         v1::User* user = nullptr) {
  return CallUnary(stub, &Stub::CreateUser, request, user);
}

inline Status GetUser(Stub& stub, const std::string& id, v1::User* user = nullptr) {
  v1::GetUserRequest request;
  request.set_id(id);
  return CallUnary(stub, &Stub::GetUser, request, user);
}

inline Status UpdateUser(Stub& stub, const v1::UpdateUserRequest& request, v1::User* user = nullptr,
                         std::chrono::milliseconds timeout = kCallTimeout) {
  return CallUnary(stub, &Stub::UpdateUser, request, user, timeout);
}

inline v1::UpdateUserRequest NameUpdate(const std::string& id, const std::string& name) {
  v1::UpdateUserRequest request;
  request.set_id(id);
  request.set_name(name);
  return request;
}

inline v1::UpdateUserRequest EmailUpdate(const std::string& id, const std::string& email) {
  v1::UpdateUserRequest request;
  request.set_id(id);
  request.set_email(email);
  return request;
}

inline Status DeleteUser(Stub& stub, const std::string& id) {
  v1::DeleteUserRequest request;
  request.set_id(id);
  return CallUnary(stub, &Stub::DeleteUser, request);
}

// One ListUsers call: the users streamed (items), the final status and the next-page-token.
using Page = testing::StreamPage<v1::User>;

inline Page ListPage(Stub& stub, int32_t page_size, const std::string& page_token = "") {
  v1::ListUsersRequest request;
  request.set_page_size(page_size);
  request.set_page_token(page_token);
  return testing::ReadStream(stub, &Stub::ListUsers, request);
}

// Every user, following the page tokens; fails the test on an error or a runaway walk.
inline std::vector<v1::User> ListAll(Stub& stub, int32_t page_size = 1000) {
  std::vector<v1::User> all;
  EXPECT_TRUE(WalkPages([&](const std::string& token) { return ListPage(stub, page_size, token); },
                        100000, nullptr, &all))
      << "ListUsers";
  return all;
}

// A WatchUserUpdates stream of one user (or of everyone for ""). Destroying it cancels the
// stream if it is still open.
class Watch : public testing::ServerStream<v1::UserUpdate> {
 public:
  Watch(Stub& stub, const std::string& user_id, std::chrono::milliseconds timeout = 60s)
      : ServerStream(stub, &Stub::WatchUserUpdates, Request(user_id), timeout) {}

 private:
  static v1::WatchUserRequest Request(const std::string& user_id) {
    v1::WatchUserRequest request;
    request.set_user_id(user_id);
    return request;
  }
};

class UserServiceTest : public testing::ServiceTest<v1::UserService> {
 protected:
  Services MakeServices() override { return testing::ServerFixture::CatalogServices({"user"}); }

  // Creates a user that must be valid; fails the test otherwise.
  v1::User MustCreate(const std::string& name, const std::string& email,
                      const std::vector<std::string>& roles = {}, Stub* stub = nullptr) {
    v1::User user;
    Status status = CreateUser(stub ? *stub : *stub_, CreateRequest(name, email, roles), &user);
    EXPECT_TRUE(status.ok()) << "CreateUser(" << name << ", " << email << "): " << Describe(status);
    return user;
  }

  v1::User MustGet(const std::string& id) {
    v1::User user;
    Status status = GetUser(*stub_, id, &user);
    EXPECT_TRUE(status.ok()) << "GetUser(" << id << "): " << Describe(status);
    return user;
  }

  v1::User MustUpdate(const v1::UpdateUserRequest& request) {
    v1::User user;
    Status status = UpdateUser(*stub_, request, &user);
    EXPECT_TRUE(status.ok()) << "UpdateUser(" << request.ShortDebugString()
                             << "): " << Describe(status);
    return user;
  }
};

}  // namespace percore::user_test
