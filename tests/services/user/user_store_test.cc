// The user store (UserPartition) and the request rules alone, without a server: the pure ops the
// service API runs on the owning shard, the validation every caller (gRPC, gateway) gets, and
// clients::UserClient's default CheckUser.

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>

#include "services/clients/user_client.h"
#include "services/user/user_partition.h"
#include "services/user/user_service.h"
#include "services/user/user_validation.h"

namespace percore::user {
namespace {

UserId IdOf(const std::string& text) { return *UserId::Parse(text); }

const UserId kAda = IdOf("0190a6f2-0000-7000-8000-000000000001");
constexpr int64_t kMinute = 60'000'000'000;

v1::User Ada() {
  v1::User user;
  user.set_id(kAda.ToString());
  user.set_name("Ada");
  user.set_email("Ada@Example.com");
  user.add_roles("admin");
  user.mutable_updated_at()->set_seconds(100);
  return user;
}

TEST(UserStoreTest, BeginEmailChangeAnswersTheCurrentKeyAndRefusesASecondChange) {
  UserPartition partition;
  EXPECT_EQ(partition.BeginEmailChange(kAda, "x@example.com").code(), StatusCode::kNotFound);
  (void)partition.Store(kAda, Ada(), v1::UserUpdate::UPDATE_TYPE_CREATED);
  Result<std::string> first = partition.BeginEmailChange(kAda, "new@example.com");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, "ada@example.com");
  Result<std::string> second = partition.BeginEmailChange(kAda, "other@example.com");
  EXPECT_EQ(second.code(), StatusCode::kAborted);
  EXPECT_NE(second.message().find(kAda.ToString()), std::string::npos) << second.message();
  // The same key (another letter case) is no change: it does not need the claim.
  EXPECT_TRUE(partition.BeginEmailChange(kAda, "ada@example.com").ok());
  partition.EndEmailChange(kAda);
  EXPECT_TRUE(partition.BeginEmailChange(kAda, "other@example.com").ok());
}

TEST(UserStoreTest, ApplyPatchChangesOnlyWhatItNamesAndReportsTheOldKey) {
  UserPartition partition;
  (void)partition.Store(kAda, Ada(), v1::UserUpdate::UPDATE_TYPE_CREATED);
  ASSERT_TRUE(partition.BeginEmailChange(kAda, "lovelace@example.com").ok());
  UserPatch patch;
  patch.email = "Lovelace@example.com";
  std::string release;
  Result<std::string> bytes =
      partition.ApplyPatch(kAda, patch, "lovelace@example.com", 200 * 1'000'000'000LL, &release);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(release, "ada@example.com");
  v1::User stored = *partition.Load(kAda);
  EXPECT_EQ(stored.email(), "Lovelace@example.com");
  EXPECT_EQ(stored.name(), "Ada");
  ASSERT_EQ(stored.roles_size(), 1);
  EXPECT_EQ(stored.updated_at().seconds(), 200);
  // The change is over: another may begin.
  EXPECT_TRUE(partition.BeginEmailChange(kAda, "third@example.com").ok());
}

TEST(UserStoreTest, ApplyPatchNeverMovesUpdatedAtBackwards) {
  UserPartition partition;
  (void)partition.Store(kAda, Ada(), v1::UserUpdate::UPDATE_TYPE_CREATED);
  UserPatch patch;
  patch.name = "Ada L.";
  std::string release;
  ASSERT_TRUE(
      partition.ApplyPatch(kAda, patch, "", 100 * 1'000'000'000LL - kMinute, &release).ok());
  EXPECT_EQ(partition.Load(kAda)->updated_at().seconds(), 100);
  EXPECT_TRUE(release.empty());
}

TEST(UserStoreTest, ApplyPatchOrRemoveOfAMissingUserIsNotFoundNamingTheId) {
  UserPartition partition;
  std::string release;
  Result<std::string> applied = partition.ApplyPatch(kAda, UserPatch{}, "", 0, &release);
  EXPECT_EQ(applied.status(), UserNotFound(kAda));
  EXPECT_NE(applied.message().find(kAda.ToString()), std::string::npos);
  EXPECT_EQ(partition.RemoveUser(kAda).code(), StatusCode::kNotFound);
}

TEST(UserStoreTest, RemoveUserAnswersTheEmailKeyToRelease) {
  UserPartition partition;
  (void)partition.Store(kAda, Ada(), v1::UserUpdate::UPDATE_TYPE_CREATED);
  Result<std::string> key = partition.RemoveUser(kAda);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(*key, "ada@example.com");
  EXPECT_FALSE(partition.Load(kAda).has_value());
}

TEST(UserStoreTest, HasSaysWhetherTheRowExists) {
  UserPartition partition;
  EXPECT_FALSE(partition.Has(kAda));
  (void)partition.Store(kAda, Ada(), v1::UserUpdate::UPDATE_TYPE_CREATED);
  EXPECT_TRUE(partition.Has(kAda));
  ASSERT_TRUE(partition.RemoveUser(kAda).ok());
  EXPECT_FALSE(partition.Has(kAda));
}

// A UserClient that only has GetUser (as a remote one): answers `status`, records the id asked.
class GetUserOnly : public clients::UserClient {
 public:
  explicit GetUserOnly(Status status) : status_(std::move(status)) {}
  void GetUser(v1::GetUserRequest request, const clients::CallOptions& /*options*/,
               clients::Done<v1::User> done) override {
    asked_ = request.id();
    done(status_, status_.ok() ? Ada() : v1::User());
  }
  const std::string& asked() const { return asked_; }

 private:
  Status status_;
  std::string asked_;
};

TEST(UserClientTest, DefaultCheckUserAsksGetUserAndPassesItsStatusOn) {
  for (const Status& answer :
       {Status(), UserNotFound(kAda), Status(StatusCode::kUnavailable, "user service down")}) {
    GetUserOnly client(answer);
    std::optional<Status> checked;
    client.CheckUser(kAda, clients::CallOptions(),
                     [&](const Status& status, clients::UserChecked&&) { checked = status; });
    ASSERT_TRUE(checked.has_value()) << "done never ran";
    EXPECT_EQ(*checked, answer);
    EXPECT_EQ(client.asked(), kAda.ToString());
  }
}

TEST(UserRequestRulesTest, UpdateMaskAloneDecidesAndUnknownPathsAreNamed) {
  v1::UpdateUserRequest request;
  request.set_id(kAda.ToString());
  request.set_name("  Grace  ");
  request.add_roles("ops");
  Result<UserPatch> no_mask = ValidateUpdate(request);
  ASSERT_TRUE(no_mask.ok());
  EXPECT_EQ(no_mask->name, "Grace");
  ASSERT_TRUE(no_mask->roles.has_value());
  EXPECT_FALSE(no_mask->email.has_value());

  request.mutable_update_mask()->add_paths("roles");  // only roles, and they may be cleared
  request.clear_roles();
  Result<UserPatch> masked = ValidateUpdate(request);
  ASSERT_TRUE(masked.ok());
  EXPECT_FALSE(masked->name.has_value());
  ASSERT_TRUE(masked->roles.has_value());
  EXPECT_TRUE(masked->roles->empty());

  request.mutable_update_mask()->add_paths("password");
  Result<UserPatch> unknown = ValidateUpdate(request);
  EXPECT_EQ(unknown.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.message().find("\"password\""), std::string::npos) << unknown.message();
}

TEST(UserRequestRulesTest, CreateNamesTheFirstBadField) {
  v1::CreateUserRequest request;
  request.set_name("Ada");
  request.set_email("no-at-sign");
  Result<NewUser> created = ValidateCreate(request);
  EXPECT_EQ(created.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(created.message().find("email"), std::string::npos) << created.message();
  request.set_email(" ada@example.com ");
  ASSERT_TRUE(ValidateCreate(request).ok());
  EXPECT_EQ(ValidateCreate(request)->email, "ada@example.com");
}

TEST(UserRequestRulesTest, ValidateListChecksSizeAndToken) {
  v1::ListUsersRequest request;
  EXPECT_EQ(ValidateList(request)->size, 100u);
  request.set_page_size(5000);
  EXPECT_EQ(ValidateList(request)->size, 1000u);
  request.set_page_size(-1);
  EXPECT_NE(ValidateList(request).message().find("page_size"), std::string::npos);
  request.set_page_size(1);
  request.set_page_token("not-a-token");
  EXPECT_NE(ValidateList(request).message().find("page_token"), std::string::npos);
}

}  // namespace
}  // namespace percore::user
