// user.v1.UserService.ListUsers (shared/spec/user-service.md): ascending id order, page sizes,
// the next-page-token trailer, tokens the server did not issue, and a cancelled page.

#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <string>
#include <thread>
#include <vector>

#include "core/rpc/call_base.h"
#include "tests/services/user/user_test_support.h"

namespace percore::user_test {
namespace {

class UserListTest : public UserServiceTest {};

TEST_F(UserListTest, ListOfNoUsersIsEmptyWithoutToken) {
  for (int32_t size : {0, 1, 1000}) {
    Page page = ListPage(*stub_, size);
    ASSERT_TRUE(page.status.ok()) << Describe(page.status);
    EXPECT_TRUE(page.items.empty());
    EXPECT_FALSE(page.more()) << "token \"" << page.token << "\"";
  }
}

TEST_F(UserListTest, ListStreamsTheStoredUsersInAscendingIdOrder) {
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
  EXPECT_TRUE(StrictlyAscending(Ids(page.items)));
  std::sort(created.begin(), created.end(),
            [](const v1::User& a, const v1::User& b) { return a.id() < b.id(); });
  ASSERT_EQ(page.items.size(), created.size());
  for (size_t i = 0; i < created.size(); ++i) EXPECT_TRUE(SameUser(page.items[i], created[i]));
}

TEST_F(UserListTest, PagingVisitsEveryUserOnceAndOnlyTheLastPageLacksAToken) {
  std::vector<std::string> ids;
  for (int i = 0; i < 23; ++i) ids.push_back(MustCreate("User", Email(i)).id());
  std::sort(ids.begin(), ids.end());
  std::vector<size_t> sizes;
  std::vector<v1::User> walked;
  ASSERT_TRUE(testing::WalkPages(
      [&](const std::string& token) { return ListPage(*stub_, 5, token); }, 10, &sizes, &walked));
  EXPECT_EQ(sizes, (std::vector<size_t>{5, 5, 5, 5, 3}));
  EXPECT_EQ(Ids(walked), ids);
}

TEST_F(UserListTest, PageThatExactlyEndsTheUsersHasNoToken) {
  for (int i = 0; i < 10; ++i) MustCreate("User", Email(i));
  Page whole = ListPage(*stub_, 10);
  ASSERT_TRUE(whole.status.ok()) << Describe(whole.status);
  EXPECT_EQ(whole.items.size(), 10u);
  EXPECT_FALSE(whole.more()) << "a token although no more users follow";

  Page first = ListPage(*stub_, 5);
  ASSERT_TRUE(first.status.ok()) << Describe(first.status);
  ASSERT_TRUE(first.more());
  Page second = ListPage(*stub_, 5, first.token);
  ASSERT_TRUE(second.status.ok()) << Describe(second.status);
  EXPECT_EQ(second.items.size(), 5u);
  EXPECT_FALSE(second.more()) << "a token although no more users follow";
}

TEST_F(UserListTest, PageSizeZeroMeansOneHundred) {
  for (int i = 0; i < 150; ++i) MustCreate("User", Email(i));
  Page first = ListPage(*stub_, 0);
  ASSERT_TRUE(first.status.ok()) << Describe(first.status);
  EXPECT_EQ(first.items.size(), 100u);
  ASSERT_TRUE(first.more());
  Page second = ListPage(*stub_, 0, first.token);
  ASSERT_TRUE(second.status.ok()) << Describe(second.status);
  EXPECT_EQ(second.items.size(), 50u);
  EXPECT_FALSE(second.more());
}

TEST_F(UserListTest, PageSizeAboveOneThousandIsTreatedAsOneThousand) {
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
    EXPECT_EQ(first.items.size(), 1000u);
    ASSERT_TRUE(first.more());
    Page rest = ListPage(*stub_, size, first.token);
    ASSERT_TRUE(rest.status.ok()) << Describe(rest.status);
    EXPECT_EQ(rest.items.size(), 5u);
    EXPECT_FALSE(rest.more());
  }
}

TEST_F(UserListTest, NegativePageSizeIsInvalidArgument) {
  MustCreate("Ada", "ada@example.com");
  for (int32_t size : {-1, -100, INT32_MIN}) {
    SCOPED_TRACE("page_size " + std::to_string(size));
    Page page = ListPage(*stub_, size);
    EXPECT_TRUE(IsInvalidArgumentNaming(page.status, "page_size"));
    EXPECT_TRUE(page.items.empty());
  }
}

TEST_F(UserListTest, ForgedPageTokenIsInvalidArgument) {
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
    EXPECT_TRUE(page.items.empty());
  }
  // The real token still works.
  Page second = ListPage(*stub_, 2, real);
  ASSERT_TRUE(second.status.ok()) << Describe(second.status);
  EXPECT_EQ(Ids(second.items), (std::vector<std::string>{ids[2], ids[3]}));
}

TEST_F(UserListTest, TamperedPageTokenIsInvalidArgument) {
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

TEST_F(UserListTest, PageTokenStaysValidWhenItsLastUserIsDeleted) {
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(MustCreate("User", Email(i)).id());
  Page first = ListPage(*stub_, 4);
  ASSERT_TRUE(first.status.ok());
  ASSERT_EQ(Ids(first.items), std::vector<std::string>(ids.begin(), ids.begin() + 4));
  ASSERT_TRUE(first.more());
  ASSERT_TRUE(DeleteUser(*stub_, ids[3]).ok());  // the page's last user
  ASSERT_TRUE(DeleteUser(*stub_, ids[4]).ok());  // and the next one
  Page second = ListPage(*stub_, 4, first.token);
  ASSERT_TRUE(second.status.ok()) << Describe(second.status);
  EXPECT_EQ(Ids(second.items), std::vector<std::string>(ids.begin() + 5, ids.begin() + 9));
}

TEST_F(UserListTest, CancelledListLeavesNothingBehind) {
  // Only the posted requests exist before the first call of the test.
  ASSERT_EQ(server_->live_call_objects(), server_->idle_call_objects());
  // 300 users of about 2.3 KB: one page is far more than the transport buffers, so the server
  // is still streaming (waiting for room) when the client gives up.
  std::vector<std::string> roles;
  for (int i = 0; i < 32; ++i) roles.push_back(std::to_string(i) + std::string(60, 'r'));
  for (int i = 0; i < 300; ++i) MustCreate("User", Email(i), roles);
  auto stub = server_->MakeStub<v1::UserService>(server_->NewSmallWindowChannel("slow-lister"));
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
  EXPECT_TRUE(server_->WaitUntilNoCalls(10s));
  EXPECT_EQ(ListAll(*stub_).size(), 300u);
}

}  // namespace
}  // namespace percore::user_test
