// user.v1.UserService served by percore, driven over loopback by the real gRPC C++ client, one
// test per rule of shared/spec/user-service.md: identity and time, validation, the unary
// methods, ListUsers paging, oversized requests and what every service answers. Watches are in
// user_watch_test.cc, races in user_concurrency_test.cc.

#include <google/protobuf/field_mask.pb.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/channel_arguments.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/rpc/call_base.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/services/user/user_test_support.h"
#include "tests/testing/client_queue.h"

namespace percore::user_test {
namespace {

using ::percore::testing::ClientQueue;
using ::percore::testing::Tag;

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<std::string> Ids(const std::vector<v1::User>& users) {
  std::vector<std::string> ids;
  for (const auto& u : users) ids.push_back(u.id());
  return ids;
}

::testing::AssertionResult StrictlyAscending(const std::vector<std::string>& ids) {
  for (size_t i = 1; i < ids.size(); ++i) {
    if (!(ids[i - 1] < ids[i])) {
      return ::testing::AssertionFailure() << "position " << i << ": \"" << ids[i]
                                           << "\" does not follow \"" << ids[i - 1] << "\"";
    }
  }
  return ::testing::AssertionSuccess();
}

std::string Email(int i) { return "user" + std::to_string(i) + "@example.com"; }

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

// ---- Validation: name ----

TEST_F(UserServiceTest, EmptyOrWhiteSpaceNameIsInvalidArgumentNamingName) {
  for (const std::string name : {"", " ", "  \t\n "}) {
    SCOPED_TRACE("name \"" + name + "\"");
    EXPECT_TRUE(IsInvalidArgumentNaming(CreateUser(*stub_, CreateRequest(name, "ada@example.com")),
                                        "name"));
  }
  EXPECT_TRUE(ListAll(*stub_).empty()) << "a rejected create stored a user";
}

TEST_F(UserServiceTest, NameOf200CharactersIsAcceptedAnd201IsNot) {
  v1::User user = MustCreate(std::string(200, 'n'), "a@example.com");
  EXPECT_EQ(user.name(), std::string(200, 'n'));
  EXPECT_TRUE(IsInvalidArgumentNaming(
      CreateUser(*stub_, CreateRequest(std::string(201, 'n'), "b@example.com")), "name"));
}

TEST_F(UserServiceTest, NameLengthCountsMultiByteCharactersAsOne) {
  // é is 2 bytes, € 3, 😀 4 in UTF-8: 200 of each is 200 code points.
  int i = 0;
  for (const std::string ch : {"\u00e9", "\u20ac", "\U0001F600"}) {
    SCOPED_TRACE("character of " + std::to_string(ch.size()) + " bytes");
    v1::User user = MustCreate(Repeat(ch, 200), Email(i++));
    EXPECT_EQ(user.name(), Repeat(ch, 200));
    EXPECT_TRUE(IsInvalidArgumentNaming(
        CreateUser(*stub_, CreateRequest(Repeat(ch, 201), Email(i++))), "name"));
  }
  MustCreate(Repeat("a\u00e9\u20ac\U0001F600", 50), Email(i++));  // 200 mixed code points
}

TEST_F(UserServiceTest, NameIsMeasuredAfterTrimmingSurroundingWhiteSpace) {
  v1::User user = MustCreate(" \t" + std::string(200, 'n') + "  \n", "a@example.com");
  // Whether the stored name keeps the white space is not in the contract; its content is.
  EXPECT_NE(user.name().find(std::string(200, 'n')), std::string::npos) << user.name();
  v1::User padded = MustCreate("  Ada  ", "b@example.com");
  EXPECT_NE(padded.name().find("Ada"), std::string::npos);
}

// ---- Validation: email ----

TEST_F(UserServiceTest, InvalidEmailsAreInvalidArgumentNamingEmail) {
  const std::string local64(64, 'l');
  const std::vector<std::string> invalid = {
      "",                                              // empty
      "   ",                                           // white space only
      "ab",                                            // too short, no @
      "a@",                                            // empty domain
      "@b",                                            // empty local part
      "@example.com",                                  // empty local part
      "ada@",                                          // empty domain
      "adaexample.com",                                // no @
      "ada@@example.com",                              // two @
      "a@b@example.com",                               // two @
      "ada lovelace@example.com",                      // inner space
      "ada@exam ple.com",                              // inner space in the domain
      "ada\t@example.com",                             // tab
      "ada@exam\nple.com",                             // newline inside
      local64 + "@" + std::string(186, 'd') + ".com",  // 255 characters
  };
  for (const std::string& email : invalid) {
    SCOPED_TRACE("email \"" + email + "\" (" + std::to_string(email.size()) + " chars)");
    EXPECT_TRUE(IsInvalidArgumentNaming(CreateUser(*stub_, CreateRequest("Ada", email)), "email"));
  }
  EXPECT_TRUE(ListAll(*stub_).empty()) << "a rejected create stored a user";
}

TEST_F(UserServiceTest, EmailOf3To254CharactersIsAccepted) {
  EXPECT_EQ(MustCreate("Short", "a@b").email(), "a@b");
  const std::string longest = std::string(64, 'l') + "@" + std::string(185, 'd') + ".com";
  ASSERT_EQ(longest.size(), 254u);
  EXPECT_EQ(MustCreate("Long", longest).email(), longest);
}

TEST_F(UserServiceTest, EmailIsMeasuredTrimmedAndStoredTrimmedAsGiven) {
  v1::User user = MustCreate("Ada", " \t Ada.Lovelace@Example.COM  \n");
  EXPECT_EQ(user.email(), "Ada.Lovelace@Example.COM");
  EXPECT_EQ(MustGet(user.id()).email(), "Ada.Lovelace@Example.COM");
  // 3 characters once trimmed.
  EXPECT_EQ(MustCreate("Short", "  a@b  ").email(), "a@b");
  // 254 once trimmed.
  const std::string longest = std::string(64, 'l') + "@" + std::string(185, 'd') + ".com";
  EXPECT_EQ(MustCreate("Long", "  " + longest + "  ").email(), longest);
}

// ---- Validation: roles ----

TEST_F(UserServiceTest, ThirtyTwoRolesAreAcceptedAndThirtyThreeAreNot) {
  std::vector<std::string> roles;
  for (int i = 0; i < 32; ++i) roles.push_back("role" + std::to_string(i));
  v1::User user = MustCreate("Ada", "a@example.com", roles);
  EXPECT_EQ(Sorted(Roles(user)), Sorted(roles));
  roles.push_back("role32");
  EXPECT_TRUE(IsInvalidArgumentNaming(
      CreateUser(*stub_, CreateRequest("Ada", "b@example.com", roles)), "role"));
}

TEST_F(UserServiceTest, RolesOfOneTo64AllowedCharactersAreAccepted) {
  const std::vector<std::string> roles = {"a", std::string(64, 'r'), "AZaz09_.:-",
                                          "org:team.lead_2-x"};
  v1::User user = MustCreate("Ada", "a@example.com", roles);
  EXPECT_EQ(Sorted(Roles(user)), Sorted(roles));
}

TEST_F(UserServiceTest, InvalidRolesAreInvalidArgumentNamingRoles) {
  const std::vector<std::string> invalid = {
      "",    std::string(65, 'r'), "a b",   "a/b",       "a,b",
      "a@b", "caf\u00e9",          "tab\t", "new\nline", "star*"};
  for (const std::string& role : invalid) {
    SCOPED_TRACE("role \"" + role + "\"");
    EXPECT_TRUE(IsInvalidArgumentNaming(
        CreateUser(*stub_, CreateRequest("Ada", "a@example.com", {"ok", role})), "role"));
  }
  EXPECT_TRUE(ListAll(*stub_).empty()) << "a rejected create stored a user";
}

TEST_F(UserServiceTest, DuplicateRolesCollapse) {
  v1::User user =
      MustCreate("Ada", "a@example.com", {"admin", "dev", "admin", "ops", "dev", "admin"});
  EXPECT_EQ(Sorted(Roles(user)), (std::vector<std::string>{"admin", "dev", "ops"}));
  v1::UpdateUserRequest update;
  update.set_id(user.id());
  for (const char* role : {"x", "y", "x", "x"}) update.add_roles(role);
  EXPECT_EQ(Sorted(Roles(MustUpdate(update))), (std::vector<std::string>{"x", "y"}));
}

// ---- Validation on update ----

TEST_F(UserServiceTest, UpdateValidatesLikeCreateAndChangesNothingOnError) {
  v1::User user = MustCreate("Ada", "ada@example.com", {"admin"});
  EXPECT_TRUE(IsInvalidArgumentNaming(UpdateUser(*stub_, NameUpdate(user.id(), "")), "name"));
  EXPECT_TRUE(IsInvalidArgumentNaming(UpdateUser(*stub_, NameUpdate(user.id(), "   ")), "name"));
  EXPECT_TRUE(IsInvalidArgumentNaming(
      UpdateUser(*stub_, NameUpdate(user.id(), std::string(201, 'n'))), "name"));
  EXPECT_TRUE(IsInvalidArgumentNaming(UpdateUser(*stub_, EmailUpdate(user.id(), "")), "email"));
  EXPECT_TRUE(
      IsInvalidArgumentNaming(UpdateUser(*stub_, EmailUpdate(user.id(), "no-at")), "email"));
  EXPECT_TRUE(
      IsInvalidArgumentNaming(UpdateUser(*stub_, EmailUpdate(user.id(), "a@b@c")), "email"));
  v1::UpdateUserRequest bad_role;
  bad_role.set_id(user.id());
  bad_role.add_roles("not ok");
  EXPECT_TRUE(IsInvalidArgumentNaming(UpdateUser(*stub_, bad_role), "role"));
  // A valid name with an invalid email: neither is applied.
  v1::UpdateUserRequest mixed = NameUpdate(user.id(), "Grace");
  mixed.set_email("bad");
  EXPECT_TRUE(IsInvalidArgumentNaming(UpdateUser(*stub_, mixed), "email"));
  EXPECT_TRUE(SameUser(MustGet(user.id()), user));
}

// ---- Validation: id ----

const std::vector<std::string>& MalformedIds() {
  static const std::vector<std::string> ids = {
      "",
      "not-a-uuid",
      "0189",
      "01890a5d-ac96-774b-bcce-b302099a805",    // one digit short
      "01890a5d-ac96-774b-bcce-b302099a80577",  // one digit long
      "01890a5d-ac96-774b-bcce-b302099a805g",   // not hex
      "01890a5dac96774bbcceb302099a8057",       // no hyphens
      "01890a5d_ac96_774b_bcce_b302099a8057",   // wrong separators
  };
  return ids;
}

TEST_F(UserServiceTest, EmptyOrMalformedIdIsInvalidArgument) {
  v1::User user = MustCreate("Ada", "ada@example.com");
  for (const std::string& id : MalformedIds()) {
    SCOPED_TRACE("id \"" + id + "\"");
    EXPECT_TRUE(IsInvalidArgumentNaming(GetUser(*stub_, id), "id"));
    EXPECT_TRUE(IsInvalidArgumentNaming(UpdateUser(*stub_, NameUpdate(id, "Grace")), "id"));
    EXPECT_TRUE(IsInvalidArgumentNaming(DeleteUser(*stub_, id), "id"));
    if (!id.empty()) {  // an empty watch id watches everyone
      Watch watch(*stub_, id, 10s);
      EXPECT_TRUE(IsInvalidArgumentNaming(watch.DrainAndFinish(), "id"));
    }
  }
  EXPECT_TRUE(SameUser(MustGet(user.id()), user));
}

TEST_F(UserServiceTest, WellFormedUnknownIdIsNotFound) {
  v1::User deleted = MustCreate("Gone", "gone@example.com");
  ASSERT_TRUE(DeleteUser(*stub_, deleted.id()).ok());
  for (const std::string& id : {std::string(kUnknownId), deleted.id()}) {
    SCOPED_TRACE("id " + id);
    EXPECT_TRUE(HasCode(GetUser(*stub_, id), StatusCode::NOT_FOUND));
    EXPECT_TRUE(HasCode(UpdateUser(*stub_, NameUpdate(id, "Grace")), StatusCode::NOT_FOUND));
    EXPECT_TRUE(HasCode(DeleteUser(*stub_, id), StatusCode::NOT_FOUND));
    Watch watch(*stub_, id, 10s);
    EXPECT_TRUE(HasCode(watch.DrainAndFinish(), StatusCode::NOT_FOUND));
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

// ---- ListUsers ----

TEST_F(UserServiceTest, ListOfNoUsersIsEmptyWithoutToken) {
  for (int32_t size : {0, 1, 1000}) {
    Page page = ListPage(*stub_, size);
    ASSERT_TRUE(page.status.ok()) << Describe(page.status);
    EXPECT_TRUE(page.users.empty());
    EXPECT_FALSE(page.more()) << "token \"" << page.token << "\"";
  }
}

TEST_F(UserServiceTest, ListStreamsTheStoredUsersInAscendingIdOrder) {
  std::vector<std::unique_ptr<Stub>> stubs;
  for (int i = 0; i < 3; ++i) stubs.push_back(NewStub());
  std::vector<v1::User> created;
  for (int i = 0; i < 40; ++i) {
    created.push_back(MustCreate("User " + std::to_string(i), Email(i), {"r" + std::to_string(i)},
                                 stubs[i % 3].get()));
  }
  MustUpdate(NameUpdate(created[7].id(), "Renamed"));
  created[7] = MustGet(created[7].id());
  Page page = ListPage(*stub_, 1000);
  ASSERT_TRUE(page.status.ok()) << Describe(page.status);
  EXPECT_FALSE(page.more());
  EXPECT_TRUE(StrictlyAscending(Ids(page.users)));
  std::sort(created.begin(), created.end(),
            [](const v1::User& a, const v1::User& b) { return a.id() < b.id(); });
  ASSERT_EQ(page.users.size(), created.size());
  for (size_t i = 0; i < created.size(); ++i) EXPECT_TRUE(SameUser(page.users[i], created[i]));
}

TEST_F(UserServiceTest, PagingVisitsEveryUserOnceAndOnlyTheLastPageLacksAToken) {
  std::vector<std::string> ids;
  for (int i = 0; i < 23; ++i) ids.push_back(MustCreate("User", Email(i)).id());
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> walked;
  std::vector<size_t> sizes;
  std::string token;
  for (;;) {
    Page page = ListPage(*stub_, 5, token);
    ASSERT_TRUE(page.status.ok()) << Describe(page.status);
    sizes.push_back(page.users.size());
    for (const auto& u : page.users) walked.push_back(u.id());
    if (!page.more()) break;
    ASSERT_LT(sizes.size(), 10u) << "paging does not end";
    token = page.token;
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{5, 5, 5, 5, 3}));
  EXPECT_EQ(walked, ids);
}

TEST_F(UserServiceTest, PageThatExactlyEndsTheUsersHasNoToken) {
  for (int i = 0; i < 10; ++i) MustCreate("User", Email(i));
  Page whole = ListPage(*stub_, 10);
  ASSERT_TRUE(whole.status.ok()) << Describe(whole.status);
  EXPECT_EQ(whole.users.size(), 10u);
  EXPECT_FALSE(whole.more()) << "a token although no more users follow";

  Page first = ListPage(*stub_, 5);
  ASSERT_TRUE(first.status.ok()) << Describe(first.status);
  ASSERT_TRUE(first.more());
  Page second = ListPage(*stub_, 5, first.token);
  ASSERT_TRUE(second.status.ok()) << Describe(second.status);
  EXPECT_EQ(second.users.size(), 5u);
  EXPECT_FALSE(second.more()) << "a token although no more users follow";
}

TEST_F(UserServiceTest, PageSizeZeroMeansOneHundred) {
  for (int i = 0; i < 150; ++i) MustCreate("User", Email(i));
  Page first = ListPage(*stub_, 0);
  ASSERT_TRUE(first.status.ok()) << Describe(first.status);
  EXPECT_EQ(first.users.size(), 100u);
  ASSERT_TRUE(first.more());
  Page second = ListPage(*stub_, 0, first.token);
  ASSERT_TRUE(second.status.ok()) << Describe(second.status);
  EXPECT_EQ(second.users.size(), 50u);
  EXPECT_FALSE(second.more());
}

TEST_F(UserServiceTest, PageSizeAboveOneThousandIsTreatedAsOneThousand) {
  constexpr int kUsers = 1005;
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      auto stub = NewStub();
      for (int i = t; i < kUsers; i += 4) {
        if (!CreateUser(*stub, CreateRequest("User", Email(i))).ok()) failures.fetch_add(1);
      }
    });
  }
  for (auto& w : writers) w.join();
  ASSERT_EQ(failures.load(), 0);
  for (int32_t size : {1001, 5000, INT32_MAX}) {
    SCOPED_TRACE("page_size " + std::to_string(size));
    Page first = ListPage(*stub_, size);
    ASSERT_TRUE(first.status.ok()) << Describe(first.status);
    EXPECT_EQ(first.users.size(), 1000u);
    ASSERT_TRUE(first.more());
    Page rest = ListPage(*stub_, size, first.token);
    ASSERT_TRUE(rest.status.ok()) << Describe(rest.status);
    EXPECT_EQ(rest.users.size(), 5u);
    EXPECT_FALSE(rest.more());
  }
}

TEST_F(UserServiceTest, NegativePageSizeIsInvalidArgument) {
  MustCreate("Ada", "ada@example.com");
  for (int32_t size : {-1, -100, INT32_MIN}) {
    SCOPED_TRACE("page_size " + std::to_string(size));
    Page page = ListPage(*stub_, size);
    EXPECT_TRUE(IsInvalidArgumentNaming(page.status, "page_size"));
    EXPECT_TRUE(page.users.empty());
  }
}

TEST_F(UserServiceTest, ForgedPageTokenIsInvalidArgument) {
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(MustCreate("User", Email(i)).id());
  Page first = ListPage(*stub_, 2);
  ASSERT_TRUE(first.status.ok());
  ASSERT_TRUE(first.more());
  const std::string& real = first.token;
  const std::vector<std::string> forged = {
      "garbage",
      "AAAA",
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      std::string(kUnknownId),
      ids[1],  // a real id is not a token the server issued
      real + "x",
      real.substr(0, real.size() / 2),
      std::string(real.size() > 0 ? real.size() : 1, '!'),
  };
  for (const std::string& token : forged) {
    SCOPED_TRACE("token \"" + token + "\"");
    Page page = ListPage(*stub_, 2, token);
    EXPECT_TRUE(HasCode(page.status, StatusCode::INVALID_ARGUMENT));
    EXPECT_TRUE(page.users.empty());
  }
  // The real token still works.
  Page second = ListPage(*stub_, 2, real);
  ASSERT_TRUE(second.status.ok()) << Describe(second.status);
  EXPECT_EQ(Ids(second.users), (std::vector<std::string>{ids[2], ids[3]}));
}

TEST_F(UserServiceTest, TamperedPageTokenIsInvalidArgument) {
  for (int i = 0; i < 6; ++i) MustCreate("User", Email(i));
  Page first = ListPage(*stub_, 2);
  ASSERT_TRUE(first.status.ok());
  ASSERT_TRUE(first.more());
  const std::string real = first.token;
  ASSERT_GE(real.size(), 4u);
  // Change one character (to another of the same kind) at the start and in the middle; the
  // end is left alone, where an encoding may carry bits that decode to nothing.
  for (size_t pos : {size_t{0}, real.size() / 2}) {
    std::string token = real;
    char c = token[pos];
    token[pos] = (c >= '0' && c <= '9')   ? (c == '0' ? '1' : '0')
                 : (c >= 'a' && c <= 'z') ? (c == 'a' ? 'b' : 'a')
                 : (c >= 'A' && c <= 'Z') ? (c == 'A' ? 'B' : 'A')
                                          : 'A';
    SCOPED_TRACE("token \"" + token + "\" (issued \"" + real + "\")");
    Page page = ListPage(*stub_, 2, token);
    EXPECT_TRUE(HasCode(page.status, StatusCode::INVALID_ARGUMENT));
  }
}

TEST_F(UserServiceTest, PageTokenStaysValidWhenItsLastUserIsDeleted) {
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(MustCreate("User", Email(i)).id());
  Page first = ListPage(*stub_, 4);
  ASSERT_TRUE(first.status.ok());
  ASSERT_EQ(Ids(first.users), std::vector<std::string>(ids.begin(), ids.begin() + 4));
  ASSERT_TRUE(first.more());
  ASSERT_TRUE(DeleteUser(*stub_, ids[3]).ok());  // the page's last user
  ASSERT_TRUE(DeleteUser(*stub_, ids[4]).ok());  // and the next one
  Page second = ListPage(*stub_, 4, first.token);
  ASSERT_TRUE(second.status.ok()) << Describe(second.status);
  EXPECT_EQ(Ids(second.users), std::vector<std::string>(ids.begin() + 5, ids.begin() + 9));
}

TEST_F(UserServiceTest, CancelledListLeavesNothingBehind) {
  const int64_t baseline = rpc::CallBase::live_objects();  // the posted requests only
  // 300 users of about 2.3 KB: one page is far more than the transport buffers, so the server
  // is still streaming (waiting for room) when the client gives up.
  std::vector<std::string> roles;
  for (int i = 0; i < 32; ++i) roles.push_back(std::to_string(i) + std::string(60, 'r'));
  for (int i = 0; i < 300; ++i) MustCreate("User", Email(i), roles);
  grpc::ChannelArguments args;
  args.SetInt("grpc.http2.bdp_probe", 0);
  args.SetString("percore.test.channel", "slow-lister");
  auto stub = v1::UserService::NewStub(
      grpc::CreateCustomChannel(server_->address(), grpc::InsecureChannelCredentials(), args));
  for (int round = 0; round < 10; ++round) {
    ClientContext context;
    SetDeadline(context);
    v1::ListUsersRequest request;
    request.set_page_size(1000);
    auto reader = stub->ListUsers(&context, request);
    v1::User user;
    ASSERT_TRUE(reader->Read(&user)) << "round " << round;
    context.TryCancel();
    while (reader->Read(&user)) {
    }
    EXPECT_TRUE(HasCode(reader->Finish(), StatusCode::CANCELLED)) << "round " << round;
  }
  bool settled = testing::WaitFor(
      [&] { return rpc::CallBase::live_objects() == baseline && server_->live_calls() == 0; }, 10s);
  EXPECT_TRUE(settled) << "live call objects " << rpc::CallBase::live_objects() << " (baseline "
                       << baseline << "), live calls " << server_->live_calls();
  EXPECT_EQ(ListAll(*stub_).size(), 300u);
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
  grpc::GenericStub generic(server_->channel());
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  Status status;
  ClientContext context;
  SetDeadline(context);
  {
    ClientQueue queue;
    queue.CancelBeforeDrain(&context);
    auto call = generic.PrepareUnaryCall(&context, "/user.v1.UserService/NoSuchMethod", request,
                                         queue.cq());
    call->StartCall();
    call->Finish(&response, &status, Tag(1));
    ASSERT_TRUE(queue.Expect(Tag(1), true).Verify());
  }
  EXPECT_TRUE(HasCode(status, StatusCode::UNIMPLEMENTED));
  MustCreate("Ada", "ada@example.com");
}

}  // namespace
}  // namespace percore::user_test
