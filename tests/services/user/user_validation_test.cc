// user.v1.UserService's validation rules (shared/spec/user-service.md, Validation), over the
// wire: every failure is INVALID_ARGUMENT with a message naming the field, and stores nothing.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/services/user/user_test_support.h"

namespace percore::user_test {
namespace {

class UserValidationTest : public UserServiceTest {};

// ---- Validation: name ----

TEST_F(UserValidationTest, EmptyOrWhiteSpaceNameIsInvalidArgumentNamingName) {
  for (const std::string name : {"", " ", "  \t\n "}) {
    SCOPED_TRACE("name \"" + name + "\"");
    EXPECT_TRUE(IsInvalidArgumentNaming(CreateUser(*stub_, CreateRequest(name, "ada@example.com")),
                                        "name"));
  }
  EXPECT_TRUE(ListAll(*stub_).empty()) << "a rejected create stored a user";
}

TEST_F(UserValidationTest, NameOf200CharactersIsAcceptedAnd201IsNot) {
  v1::User user = MustCreate(std::string(200, 'n'), "a@example.com");
  EXPECT_EQ(user.name(), std::string(200, 'n'));
  EXPECT_TRUE(IsInvalidArgumentNaming(
      CreateUser(*stub_, CreateRequest(std::string(201, 'n'), "b@example.com")), "name"));
}

TEST_F(UserValidationTest, NameLengthCountsMultiByteCharactersAsOne) {
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

TEST_F(UserValidationTest, NameIsMeasuredAfterTrimmingSurroundingWhiteSpace) {
  v1::User user = MustCreate(" \t" + std::string(200, 'n') + "  \n", "a@example.com");
  // Whether the stored name keeps the white space is not in the contract; its content is.
  EXPECT_NE(user.name().find(std::string(200, 'n')), std::string::npos) << user.name();
  v1::User padded = MustCreate("  Ada  ", "b@example.com");
  EXPECT_NE(padded.name().find("Ada"), std::string::npos);
}

// ---- Validation: email ----

TEST_F(UserValidationTest, InvalidEmailsAreInvalidArgumentNamingEmail) {
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

TEST_F(UserValidationTest, EmailOf3To254CharactersIsAccepted) {
  EXPECT_EQ(MustCreate("Short", "a@b").email(), "a@b");
  const std::string longest = std::string(64, 'l') + "@" + std::string(185, 'd') + ".com";
  ASSERT_EQ(longest.size(), 254u);
  EXPECT_EQ(MustCreate("Long", longest).email(), longest);
}

TEST_F(UserValidationTest, EmailIsMeasuredTrimmedAndStoredTrimmedAsGiven) {
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

TEST_F(UserValidationTest, ThirtyTwoRolesAreAcceptedAndThirtyThreeAreNot) {
  std::vector<std::string> roles;
  for (int i = 0; i < 32; ++i) roles.push_back("role" + std::to_string(i));
  v1::User user = MustCreate("Ada", "a@example.com", roles);
  EXPECT_EQ(Sorted(Roles(user)), Sorted(roles));
  roles.push_back("role32");
  EXPECT_TRUE(IsInvalidArgumentNaming(
      CreateUser(*stub_, CreateRequest("Ada", "b@example.com", roles)), "role"));
}

TEST_F(UserValidationTest, RolesOfOneTo64AllowedCharactersAreAccepted) {
  const std::vector<std::string> roles = {"a", std::string(64, 'r'), "AZaz09_.:-",
                                          "org:team.lead_2-x"};
  v1::User user = MustCreate("Ada", "a@example.com", roles);
  EXPECT_EQ(Sorted(Roles(user)), Sorted(roles));
}

TEST_F(UserValidationTest, InvalidRolesAreInvalidArgumentNamingRoles) {
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

TEST_F(UserValidationTest, DuplicateRolesCollapse) {
  v1::User user =
      MustCreate("Ada", "a@example.com", {"admin", "dev", "admin", "ops", "dev", "admin"});
  EXPECT_EQ(Sorted(Roles(user)), (std::vector<std::string>{"admin", "dev", "ops"}));
  v1::UpdateUserRequest update;
  update.set_id(user.id());
  for (const char* role : {"x", "y", "x", "x"}) update.add_roles(role);
  EXPECT_EQ(Sorted(Roles(MustUpdate(update))), (std::vector<std::string>{"x", "y"}));
}

// ---- Validation on update ----

TEST_F(UserValidationTest, UpdateValidatesLikeCreateAndChangesNothingOnError) {
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

TEST_F(UserValidationTest, EmptyOrMalformedIdIsInvalidArgument) {
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

TEST_F(UserValidationTest, WellFormedUnknownIdIsNotFound) {
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

}  // namespace
}  // namespace percore::user_test
