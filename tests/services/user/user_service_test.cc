// user.v1.UserService served by percore, driven over loopback by the real gRPC C++ client, one
// test per rule of shared/spec/user-service.md: identity and time, unique emails, the unary
// methods, oversized requests and what every service answers. Field validation is in
// user_validation_test.cc, ListUsers in user_list_test.cc, watches in user_watch_test.cc, races
// in user_concurrency_test.cc.

#include <google/protobuf/field_mask.pb.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/services/user/user_test_support.h"

namespace percore::user_test {
namespace {

// ---- Identity and time ----

TEST_F(UserServiceTest, CreateReturnsTheStoredUser) {
  v1::User created = MustCreate("Ada Lovelace", "ada@example.com", {"admin", "dev"});
  EXPECT_EQ(created.name(), "Ada Lovelace");
  EXPECT_EQ(created.email(), "ada@example.com");
  EXPECT_EQ(Sorted(Roles(created)), (std::vector<std::string>{"admin", "dev"}));
  EXPECT_TRUE(SameUser(MustGet(created.id()), created));
}

TEST_F(UserServiceTest, IdIsCanonicalLowercaseUuidV7WithTheCreationTime) {
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    int64_t before_ms = NowNanos() / 1'000'000;
    v1::User user = MustCreate("User", Email(i));
    int64_t after_ms = NowNanos() / 1'000'000;
    ASSERT_TRUE(IsCanonicalUuidV7(user.id()));
    // UUIDv7's first 48 bits are Unix milliseconds; allow for clock granularity.
    EXPECT_GE(UuidMillis(user.id()), before_ms - 1000) << user.id();
    EXPECT_LE(UuidMillis(user.id()), after_ms + 1000) << user.id();
    EXPECT_TRUE(ids.insert(user.id()).second) << "duplicate id " << user.id();
  }
}

TEST_F(UserServiceTest, IdsAscendInCreationOrderOnOneConnection) {
  std::vector<std::string> ids;
  for (int i = 0; i < 200; ++i) ids.push_back(MustCreate("User", Email(i)).id());
  EXPECT_TRUE(StrictlyAscending(ids));
}

TEST_F(UserServiceTest, IdsAscendInCreationOrderAcrossConnections) {
  // Calls on different connections land on different shards; each create starts after the
  // previous one returned, so their ids must still ascend.
  std::vector<std::unique_ptr<Stub>> stubs;
  for (int i = 0; i < 4; ++i) stubs.push_back(NewStub());
  std::vector<std::string> ids;
  for (int i = 0; i < 200; ++i)
    ids.push_back(MustCreate("User", Email(i), {}, stubs[i % 4].get()).id());
  EXPECT_TRUE(StrictlyAscending(ids));
}

TEST_F(UserServiceTest, CreatedAtEqualsUpdatedAtAtCreation) {
  int64_t before = NowNanos();
  v1::User user = MustCreate("Ada", "ada@example.com");
  int64_t after = NowNanos();
  ASSERT_TRUE(user.has_created_at());
  ASSERT_TRUE(user.has_updated_at());
  EXPECT_EQ(Nanos(user.created_at()), Nanos(user.updated_at()));
  EXPECT_GE(Nanos(user.created_at()), before - 1'000'000'000);
  EXPECT_LE(Nanos(user.created_at()), after + 1'000'000'000);
  EXPECT_TRUE(SameUser(MustGet(user.id()), user));
}

TEST_F(UserServiceTest, UpdateSetsUpdatedAtKeepsCreatedAtAndNeverGoesBackwards) {
  v1::User created = MustCreate("Ada", "ada@example.com");
  std::this_thread::sleep_for(5ms);
  v1::User first = MustUpdate(NameUpdate(created.id(), "Ada 1"));
  EXPECT_EQ(Nanos(first.created_at()), Nanos(created.created_at()));
  EXPECT_GT(Nanos(first.updated_at()), Nanos(created.updated_at()))
      << "updated_at not set again by an update 5 ms after creation";
  int64_t last = Nanos(first.updated_at());
  for (int i = 2; i < 50; ++i) {
    v1::User updated = MustUpdate(NameUpdate(created.id(), "Ada " + std::to_string(i)));
    EXPECT_EQ(Nanos(updated.created_at()), Nanos(created.created_at())) << "update " << i;
    EXPECT_GE(Nanos(updated.updated_at()), last) << "updated_at went backwards at update " << i;
    last = Nanos(updated.updated_at());
    EXPECT_TRUE(SameUser(MustGet(created.id()), updated)) << "update " << i;
  }
}

// ---- CreateUser: unique email ----

TEST_F(UserServiceTest, DuplicateEmailIsAlreadyExistsCaseInsensitively) {
  v1::User first = MustCreate("Ada", "Ada@Example.com");
  for (const std::string email :
       {"Ada@Example.com", "ada@example.com", "ADA@EXAMPLE.COM", "  ada@EXAMPLE.com \t"}) {
    SCOPED_TRACE("email \"" + email + "\"");
    EXPECT_TRUE(
        HasCode(CreateUser(*stub_, CreateRequest("Other", email)), StatusCode::ALREADY_EXISTS));
  }
  std::vector<v1::User> all = ListAll(*stub_);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(SameUser(all[0], first));
}

TEST_F(UserServiceTest, DuplicateEmailIsAlreadyExistsFromEveryConnection) {
  // Users created through several connections (so on both shards) still share one email space.
  std::vector<std::unique_ptr<Stub>> stubs;
  for (int i = 0; i < 4; ++i) stubs.push_back(NewStub());
  for (int i = 0; i < 20; ++i) MustCreate("User", Email(i), {}, stubs[i % 4].get());
  for (int i = 0; i < 20; ++i) {
    for (int s = 0; s < 4; ++s) {
      EXPECT_TRUE(HasCode(CreateUser(*stubs[s], CreateRequest("Again", "USER" + std::to_string(i) +
                                                                           "@Example.com")),
                          StatusCode::ALREADY_EXISTS))
          << "email " << i << " via connection " << s;
    }
  }
  EXPECT_EQ(ListAll(*stub_).size(), 20u);
}

// ---- UpdateUser ----

TEST_F(UserServiceTest, UpdateChangesOnlyTheFieldsPresent) {
  v1::User user = MustCreate("Ada", "ada@example.com", {"admin"});

  v1::User renamed = MustUpdate(NameUpdate(user.id(), "Grace"));
  EXPECT_EQ(renamed.name(), "Grace");
  EXPECT_EQ(renamed.email(), "ada@example.com");
  EXPECT_EQ(Roles(renamed), (std::vector<std::string>{"admin"}));

  v1::User moved = MustUpdate(EmailUpdate(user.id(), "grace@example.com"));
  EXPECT_EQ(moved.name(), "Grace");
  EXPECT_EQ(moved.email(), "grace@example.com");
  EXPECT_EQ(Roles(moved), (std::vector<std::string>{"admin"}));

  v1::UpdateUserRequest roles;
  roles.set_id(user.id());
  roles.add_roles("dev");
  roles.add_roles("ops");
  v1::User promoted = MustUpdate(roles);
  EXPECT_EQ(promoted.name(), "Grace");
  EXPECT_EQ(promoted.email(), "grace@example.com");
  EXPECT_EQ(Sorted(Roles(promoted)), (std::vector<std::string>{"dev", "ops"}));

  v1::UpdateUserRequest nothing;
  nothing.set_id(user.id());
  v1::User same = MustUpdate(nothing);
  EXPECT_EQ(same.name(), "Grace");
  EXPECT_EQ(same.email(), "grace@example.com");
  EXPECT_EQ(Sorted(Roles(same)), (std::vector<std::string>{"dev", "ops"}));
  EXPECT_EQ(Nanos(same.created_at()), Nanos(user.created_at()));
  EXPECT_TRUE(SameUser(MustGet(user.id()), same));
}

TEST_F(UserServiceTest, UpdateStoresEmailTrimmedAsGiven) {
  v1::User user = MustCreate("Ada", "ada@example.com");
  EXPECT_EQ(MustUpdate(EmailUpdate(user.id(), "  Grace@Example.ORG ")).email(),
            "Grace@Example.ORG");
  EXPECT_EQ(MustUpdate(NameUpdate(user.id(), "Grace")).email(), "Grace@Example.ORG");
}

TEST_F(UserServiceTest, UpdateToOwnEmailInAnotherCaseSucceeds) {
  v1::User user = MustCreate("Ada", "ada@example.com");
  EXPECT_EQ(MustUpdate(EmailUpdate(user.id(), "ADA@example.com")).email(), "ADA@example.com");
  EXPECT_EQ(MustUpdate(EmailUpdate(user.id(), "ADA@example.com")).email(), "ADA@example.com");
  EXPECT_TRUE(HasCode(CreateUser(*stub_, CreateRequest("Other", "ada@EXAMPLE.com")),
                      StatusCode::ALREADY_EXISTS));
}

TEST_F(UserServiceTest, UpdateMaskDecidesWhichFieldsChange) {
  v1::User user = MustCreate("Ada", "ada@example.com", {"admin"});
  v1::UpdateUserRequest request;
  request.set_id(user.id());
  request.set_name("Grace");
  request.set_email("grace@example.com");
  request.add_roles("dev");
  request.mutable_update_mask()->add_paths("name");
  v1::User updated = MustUpdate(request);
  EXPECT_EQ(updated.name(), "Grace");
  EXPECT_EQ(updated.email(), "ada@example.com") << "email changed though not in the mask";
  EXPECT_EQ(Roles(updated), (std::vector<std::string>{"admin"})) << "roles not in the mask";

  request.mutable_update_mask()->clear_paths();
  request.mutable_update_mask()->add_paths("email");
  request.mutable_update_mask()->add_paths("roles");
  request.set_name("Ignored");
  updated = MustUpdate(request);
  EXPECT_EQ(updated.name(), "Grace");
  EXPECT_EQ(updated.email(), "grace@example.com");
  EXPECT_EQ(Roles(updated), (std::vector<std::string>{"dev"}));
  EXPECT_TRUE(SameUser(MustGet(user.id()), updated));
  // The old email was given up.
  MustCreate("Other", "ada@example.com");
}

TEST_F(UserServiceTest, EmptyRolesKeepRolesWithoutMaskAndClearThemWithRolesInMask) {
  v1::User user = MustCreate("Ada", "ada@example.com", {"admin", "dev"});
  v1::UpdateUserRequest keep = NameUpdate(user.id(), "Grace");
  EXPECT_EQ(Sorted(Roles(MustUpdate(keep))), (std::vector<std::string>{"admin", "dev"}));

  v1::UpdateUserRequest clear;
  clear.set_id(user.id());
  clear.mutable_update_mask()->add_paths("roles");
  v1::User cleared = MustUpdate(clear);
  EXPECT_TRUE(cleared.roles().empty()) << cleared.ShortDebugString();
  EXPECT_EQ(cleared.name(), "Grace");
  EXPECT_EQ(cleared.email(), "ada@example.com");
  EXPECT_TRUE(MustGet(user.id()).roles().empty());
}

TEST_F(UserServiceTest, UnknownUpdateMaskPathIsInvalidArgument) {
  v1::User user = MustCreate("Ada", "ada@example.com", {"admin"});
  for (const std::vector<std::string>& paths :
       {std::vector<std::string>{"nickname"}, std::vector<std::string>{"name", "nickname"}}) {
    v1::UpdateUserRequest request = NameUpdate(user.id(), "Grace");
    for (const auto& p : paths) request.mutable_update_mask()->add_paths(p);
    SCOPED_TRACE(request.update_mask().ShortDebugString());
    EXPECT_TRUE(HasCode(UpdateUser(*stub_, request), StatusCode::INVALID_ARGUMENT));
  }
  EXPECT_TRUE(SameUser(MustGet(user.id()), user));
}

TEST_F(UserServiceTest, TakingAnotherUsersEmailOnUpdateIsAlreadyExists) {
  v1::User ada = MustCreate("Ada", "ada@example.com");
  v1::User grace = MustCreate("Grace", "grace@example.com");
  for (const std::string email : {"ada@example.com", "ADA@Example.com", " ada@example.com "}) {
    SCOPED_TRACE("email \"" + email + "\"");
    EXPECT_TRUE(
        HasCode(UpdateUser(*stub_, EmailUpdate(grace.id(), email)), StatusCode::ALREADY_EXISTS));
  }
  // Also when other fields change with it, and through the mask: nothing is applied.
  v1::UpdateUserRequest request = NameUpdate(grace.id(), "Renamed");
  request.set_email("ada@example.com");
  request.mutable_update_mask()->add_paths("name");
  request.mutable_update_mask()->add_paths("email");
  EXPECT_TRUE(HasCode(UpdateUser(*stub_, request), StatusCode::ALREADY_EXISTS));
  EXPECT_TRUE(SameUser(MustGet(grace.id()), grace));
  EXPECT_TRUE(SameUser(MustGet(ada.id()), ada));
}

TEST_F(UserServiceTest, EmailGivenUpByUpdateIsFreeAtOnce) {
  v1::User ada = MustCreate("Ada", "ada@example.com");
  MustUpdate(EmailUpdate(ada.id(), "lovelace@example.com"));
  // No wait: the next call may take it, in another case, from another connection.
  auto other = NewStub();
  v1::User taker;
  ASSERT_TRUE(CreateUser(*other, CreateRequest("Taker", "ADA@example.com"), &taker).ok());
  // The new email is claimed, and the old one is now the taker's.
  EXPECT_TRUE(HasCode(CreateUser(*stub_, CreateRequest("X", "lovelace@example.com")),
                      StatusCode::ALREADY_EXISTS));
  EXPECT_TRUE(HasCode(UpdateUser(*stub_, EmailUpdate(ada.id(), "ada@example.com")),
                      StatusCode::ALREADY_EXISTS));
  // Freed by update, taken by update.
  v1::User grace = MustCreate("Grace", "grace@example.com");
  MustUpdate(EmailUpdate(taker.id(), "taker@example.com"));
  v1::User moved;
  ASSERT_TRUE(UpdateUser(*other, EmailUpdate(grace.id(), "ada@example.com"), &moved).ok());
  EXPECT_EQ(moved.email(), "ada@example.com");
}

TEST_F(UserServiceTest, EmailGivenUpByDeleteIsFreeAtOnce) {
  auto other = NewStub();
  for (int round = 0; round < 20; ++round) {
    v1::User user = MustCreate("Ada", "ada@example.com", {}, round % 2 ? other.get() : nullptr);
    ASSERT_TRUE(DeleteUser(*stub_, user.id()).ok()) << "round " << round;
    v1::User again;
    Status status =
        CreateUser(round % 2 ? *stub_ : *other, CreateRequest("Ada", "ADA@example.com"), &again);
    ASSERT_TRUE(status.ok()) << "round " << round << ": " << Describe(status);
    ASSERT_TRUE(DeleteUser(*other, again.id()).ok()) << "round " << round;
  }
  // Freed by delete, taken by update.
  v1::User ada = MustCreate("Ada", "ada@example.com");
  v1::User grace = MustCreate("Grace", "grace@example.com");
  ASSERT_TRUE(DeleteUser(*stub_, ada.id()).ok());
  v1::User moved;
  ASSERT_TRUE(UpdateUser(*other, EmailUpdate(grace.id(), "ada@example.com"), &moved).ok());
}

// ---- DeleteUser ----

TEST_F(UserServiceTest, DeleteReturnsEmptyAndThenGetIsNotFound) {
  v1::User ada = MustCreate("Ada", "ada@example.com");
  v1::User grace = MustCreate("Grace", "grace@example.com");
  ClientContext context;
  SetDeadline(context);
  v1::DeleteUserRequest request;
  request.set_id(ada.id());
  google::protobuf::Empty response;
  Status status = stub_->DeleteUser(&context, request, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.ByteSizeLong(), 0u);
  EXPECT_TRUE(HasCode(GetUser(*stub_, ada.id()), StatusCode::NOT_FOUND));
  EXPECT_TRUE(HasCode(DeleteUser(*stub_, ada.id()), StatusCode::NOT_FOUND));
  EXPECT_TRUE(SameUser(MustGet(grace.id()), grace)) << "another user was touched";
  std::vector<v1::User> all = ListAll(*stub_);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].id(), grace.id());
}

// ---- Oversized requests ----

TEST_F(UserServiceTest, OversizedCreateIsResourceExhaustedAndStoresNothing) {
  const std::string huge(5 * 1024 * 1024, 'n');  // above the default 4 MiB limit
  EXPECT_TRUE(HasCode(CreateUser(*stub_, CreateRequest(huge, "ada@example.com")),
                      StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_TRUE(HasCode(CreateUser(*stub_, CreateRequest("Ada", "ada@" + huge)),
                      StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_TRUE(ListAll(*stub_).empty()) << "an oversized request was stored";
  // The email was not claimed, and the server still serves.
  MustCreate("Ada", "ada@example.com");
}

TEST_F(UserServiceTest, OversizedUpdateIsResourceExhaustedAndChangesNothing) {
  v1::User user = MustCreate("Ada", "ada@example.com");
  EXPECT_TRUE(HasCode(UpdateUser(*stub_, NameUpdate(user.id(), std::string(5 << 20, 'n'))),
                      StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_TRUE(SameUser(MustGet(user.id()), user));
}

// ---- Around every service ----

TEST_F(UserServiceTest, HealthReportsTheUserServiceServing) {
  auto health = server_->MakeStub<grpc::health::v1::Health>();
  for (const char* service : {"", "user.v1.UserService"}) {
    ClientContext context;
    SetDeadline(context);
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    Status status = health->Check(&context, request, &response);
    ASSERT_TRUE(status.ok()) << service << ": " << Describe(status);
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING) << service;
  }
}

TEST_F(UserServiceTest, UnknownMethodIsUnimplementedAndTheServerKeepsServing) {
  Status status =
      testing::CallGenericUnary(server_->channel(), "/user.v1.UserService/NoSuchMethod", "");
  EXPECT_TRUE(HasCode(status, StatusCode::UNIMPLEMENTED));
  MustCreate("Ada", "ada@example.com");
}

}  // namespace
}  // namespace percore::user_test
