// user.v1.UserService.WatchUserUpdates end to end (shared/spec/user-service.md): registration
// signalled by initial metadata, every later change delivered once in commit order with the
// user after it, the end after DELETED, and watching everyone. Concurrent writers are in
// user_watch_concurrency_test.cc, slow, cancelled and shut-down watches in
// user_watch_lifecycle_test.cc.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/services/user/user_watch_test_support.h"

namespace percore::user_test {
namespace {

TEST_F(UserWatchTest, WatchDeliversEachLaterChangeOfItsUserThenEndsOkAfterDeleted) {
  v1::User user = MustCreate("Ada", "ada@example.com", {"admin"});
  MustUpdate(NameUpdate(user.id(), "Before the watch"));
  Watch watch(*stub_, user.id(), 20s);
  watch.WaitUntilRegistered();
  v1::User renamed = MustUpdate(NameUpdate(user.id(), "Grace"));
  v1::User moved = MustUpdate(EmailUpdate(user.id(), "grace@example.com"));
  v1::User promoted = MustUpdate(RolesUpdate(user.id(), {"dev", "ops"}));
  ASSERT_TRUE(DeleteUser(*stub_, user.id()).ok());

  EXPECT_TRUE(IsEvent(watch.Next(), kUpdated, renamed));
  EXPECT_TRUE(IsEvent(watch.Next(), kUpdated, moved));
  EXPECT_TRUE(IsEvent(watch.Next(), kUpdated, promoted));
  // DELETED carries the user as it was last.
  EXPECT_TRUE(IsEvent(watch.Next(), kDeleted, promoted));
  std::optional<v1::UserUpdate> extra = watch.Next();
  EXPECT_FALSE(extra.has_value()) << "an event after DELETED: " << extra->ShortDebugString();
  Status status = watch.Finish();
  EXPECT_TRUE(status.ok()) << "the stream did not end with OK after DELETED: " << Describe(status);
}

TEST_F(UserWatchTest, ChangeRightAfterInitialMetadataIsDelivered) {
  // The registration race, many times: the change comes from another connection (so possibly
  // another shard) the moment the metadata is in.
  v1::User user = MustCreate("Ada", "ada@example.com");
  auto writer = NewStub();
  for (int i = 0; i < 40; ++i) {
    SCOPED_TRACE("round " + std::to_string(i));
    Watch watch(*stub_, i % 2 ? user.id() : "", 20s);
    watch.WaitUntilRegistered();
    v1::User updated;
    ASSERT_TRUE(
        UpdateUser(*writer, NameUpdate(user.id(), "Ada " + std::to_string(i)), &updated).ok());
    ASSERT_TRUE(IsEvent(watch.Next(), kUpdated, updated));
  }
}

TEST_F(UserWatchTest, WatchOfOneUserSeesNoOtherUser) {
  v1::User ada = MustCreate("Ada", "ada@example.com");
  v1::User grace = MustCreate("Grace", "grace@example.com");
  Watch watch(*stub_, ada.id(), 20s);
  watch.WaitUntilRegistered();
  MustUpdate(NameUpdate(grace.id(), "Grace 2"));
  MustCreate("Linus", "linus@example.com");
  ASSERT_TRUE(DeleteUser(*stub_, grace.id()).ok());
  v1::User renamed = MustUpdate(NameUpdate(ada.id(), "Ada 2"));
  EXPECT_TRUE(IsEvent(watch.Next(), kUpdated, renamed));
  // The stream stays open; the client ends it.
  watch.Cancel();
  EXPECT_TRUE(HasCode(watch.DrainAndFinish(), StatusCode::CANCELLED));
}

TEST_F(UserWatchTest, EmptyUserIdWatchesEveryUserAndOutlivesDeletes) {
  Watch watch(*stub_, "", 20s);
  watch.WaitUntilRegistered();
  auto other = NewStub();
  v1::User ada = MustCreate("Ada", "ada@example.com");
  v1::User grace = MustCreate("Grace", "grace@example.com", {}, other.get());
  v1::User ada2 = MustUpdate(NameUpdate(ada.id(), "Ada 2"));
  v1::User grace2 = MustUpdate(NameUpdate(grace.id(), "Grace 2"));
  ASSERT_TRUE(DeleteUser(*stub_, ada.id()).ok());

  // Order is promised per user only.
  std::map<std::string, std::vector<v1::UserUpdate>> by_user;
  for (int i = 0; i < 5; ++i) {
    std::optional<v1::UserUpdate> event = watch.Next();
    ASSERT_TRUE(event.has_value()) << "event " << i;
    by_user[event->user_id()].push_back(*event);
  }
  ASSERT_EQ(by_user[ada.id()].size(), 3u);
  EXPECT_TRUE(IsEvent(by_user[ada.id()][0], kCreated, ada));
  EXPECT_TRUE(IsEvent(by_user[ada.id()][1], kUpdated, ada2));
  EXPECT_TRUE(IsEvent(by_user[ada.id()][2], kDeleted, ada2));
  ASSERT_EQ(by_user[grace.id()].size(), 2u);
  EXPECT_TRUE(IsEvent(by_user[grace.id()][0], kCreated, grace));
  EXPECT_TRUE(IsEvent(by_user[grace.id()][1], kUpdated, grace2));

  // A DELETED does not end a watch of everyone.
  v1::User linus = MustCreate("Linus", "linus@example.com");
  EXPECT_TRUE(IsEvent(watch.Next(), kCreated, linus));
  watch.Cancel();
  EXPECT_TRUE(HasCode(watch.DrainAndFinish(), StatusCode::CANCELLED));
}

TEST_F(UserWatchTest, EveryWatcherGetsEveryChange) {
  v1::User user = MustCreate("Ada", "ada@example.com");
  std::vector<std::unique_ptr<Stub>> stubs;
  std::vector<std::unique_ptr<Watch>> watches;
  for (int i = 0; i < 4; ++i) {
    stubs.push_back(NewStub());
    watches.push_back(std::make_unique<Watch>(*stubs.back(), i < 3 ? user.id() : "", 20s));
    watches.back()->WaitUntilRegistered();
  }
  std::vector<v1::User> states;
  for (int i = 0; i < 10; ++i)
    states.push_back(MustUpdate(NameUpdate(user.id(), std::to_string(i))));
  ASSERT_TRUE(DeleteUser(*stub_, user.id()).ok());
  for (size_t w = 0; w < watches.size(); ++w) {
    SCOPED_TRACE("watcher " + std::to_string(w));
    for (const v1::User& state : states) EXPECT_TRUE(IsEvent(watches[w]->Next(), kUpdated, state));
    EXPECT_TRUE(IsEvent(watches[w]->Next(), kDeleted, states.back()));
  }
  for (int w = 0; w < 3; ++w) EXPECT_TRUE(watches[w]->DrainAndFinish().ok()) << "watcher " << w;
}

}  // namespace
}  // namespace percore::user_test
