// user.v1.UserService under concurrent clients (shared/spec/user-service.md): parallel creates,
// races for one email across shards (exactly one winner), emails freed at once under load, and
// paging through while others write.

#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <latch>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/services/user/user_test_support.h"

namespace percore::user_test {
namespace {

constexpr int kChannels = 8;  // connections spread the calls over both shards

class UserConcurrencyTest : public UserServiceTest {
 protected:
  void SetUp() override {
    UserServiceTest::SetUp();
    OpenConnections(kChannels);
  }

  // Runs fn(i) on `n` threads that start together; returns their statuses by index.
  template <class Fn>
  std::vector<Status> RunTogether(int n, Fn fn) {
    std::vector<Status> statuses(n);
    std::latch start(n);
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        statuses[i] = fn(i);
      });
    }
    for (auto& t : threads) t.join();
    return statuses;
  }
};

// Counts OK and ALREADY_EXISTS; any other code fails the test.
std::pair<int, int> OkAndAlreadyExists(const std::vector<Status>& statuses) {
  int ok = 0;
  int exists = 0;
  for (const Status& s : statuses) {
    if (s.ok()) {
      ++ok;
    } else if (s.error_code() == StatusCode::ALREADY_EXISTS) {
      ++exists;
    } else {
      ADD_FAILURE() << "unexpected " << Describe(s);
    }
  }
  return {ok, exists};
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Case variants of one address: all the same email to the uniqueness rule.
std::string CaseVariant(const std::string& email, int i) {
  std::string out = email;
  for (size_t k = 0; k < out.size(); ++k) {
    if ((i >> (k % 5)) & 1)
      out[k] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[k])));
  }
  return out;
}

TEST_F(UserConcurrencyTest, SixtyFourParallelCreatesAllSucceedWithDistinctIds) {
  constexpr int kCreates = 64;
  std::vector<v1::User> users(kCreates);
  std::vector<Status> statuses = RunTogether(kCreates, [&](int i) {
    return CreateUser(
        StubFor(i),
        CreateRequest("User " + std::to_string(i), "user" + std::to_string(i) + "@example.com"),
        &users[i]);
  });
  std::set<std::string> ids;
  for (int i = 0; i < kCreates; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << "create " << i << ": " << Describe(statuses[i]);
    EXPECT_TRUE(IsCanonicalUuidV7(users[i].id()));
    EXPECT_TRUE(ids.insert(users[i].id()).second) << "duplicate id " << users[i].id();
  }
  std::set<std::string> listed;
  for (const v1::User& u : ListAll(*stub_)) listed.insert(u.id());
  EXPECT_EQ(listed, ids);
}

TEST_F(UserConcurrencyTest, ParallelCreatesWithOneEmailLetExactlyOneSucceed) {
  constexpr int kRounds = 5;
  constexpr int kRacers = 32;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string email = "race" + std::to_string(round) + "@example.com";
    std::vector<Status> statuses = RunTogether(kRacers, [&](int i) {
      return CreateUser(StubFor(i),
                        CreateRequest("Racer " + std::to_string(i), CaseVariant(email, i)));
    });
    auto [ok, exists] = OkAndAlreadyExists(statuses);
    EXPECT_EQ(ok, 1);
    EXPECT_EQ(exists, kRacers - 1);
  }
  EXPECT_EQ(ListAll(*stub_).size(), static_cast<size_t>(kRounds));
}

TEST_F(UserConcurrencyTest, ParallelUpdatesToOneEmailLetExactlyOneSucceed) {
  constexpr int kRacers = 16;
  std::vector<v1::User> users;
  for (int i = 0; i < kRacers; ++i) {
    users.push_back(MustCreate("User", "user" + std::to_string(i) + "@example.com"));
  }
  std::vector<Status> statuses = RunTogether(kRacers, [&](int i) {
    return UpdateUser(StubFor(i), EmailUpdate(users[i].id(), CaseVariant("taken@example.com", i)));
  });
  auto [ok, exists] = OkAndAlreadyExists(statuses);
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(exists, kRacers - 1);
  int holders = 0;
  for (int i = 0; i < kRacers; ++i) {
    v1::User now = MustGet(users[i].id());
    if (statuses[i].ok()) {
      ++holders;
      EXPECT_EQ(now.email(), CaseVariant("taken@example.com", i));
      // The winner's old email is free at once.
      MustCreate("Reuser", users[i].email());
    } else {
      EXPECT_TRUE(SameUser(now, users[i])) << "a losing update changed its user";
    }
  }
  EXPECT_EQ(holders, 1);
}

TEST_F(UserConcurrencyTest, CreatesAndUpdatesRacingForOneEmailLetExactlyOneSucceed) {
  constexpr int kRacers = 16;  // half create, half update
  std::vector<v1::User> users;
  for (int i = 0; i < kRacers / 2; ++i) {
    users.push_back(MustCreate("User", "user" + std::to_string(i) + "@example.com"));
  }
  std::vector<Status> statuses = RunTogether(kRacers, [&](int i) {
    std::string email = CaseVariant("prize@example.com", i);
    if (i % 2) return CreateUser(StubFor(i), CreateRequest("Creator", email));
    return UpdateUser(StubFor(i), EmailUpdate(users[i / 2].id(), email));
  });
  auto [ok, exists] = OkAndAlreadyExists(statuses);
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(exists, kRacers - 1);
  int holders = 0;
  for (const v1::User& u : ListAll(*stub_)) holders += Lower(u.email()) == "prize@example.com";
  EXPECT_EQ(holders, 1);
}

TEST_F(UserConcurrencyTest, EmailFreedByDeleteIsReusableAtOnceUnderLoad) {
  constexpr int kThreads = 8;
  constexpr int kCycles = 25;
  std::vector<Status> statuses = RunTogether(kThreads, [&](int t) {
    const std::string email = "cycle" + std::to_string(t) + "@example.com";
    for (int c = 0; c < kCycles; ++c) {
      v1::User user;
      // Created through one connection, deleted through another.
      Status status =
          CreateUser(StubFor(t + c), CreateRequest("Cycler", CaseVariant(email, c)), &user);
      if (!status.ok()) return status;
      status = DeleteUser(StubFor(t + c + 1), user.id());
      if (!status.ok()) return status;
    }
    return Status::OK;
  });
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_TRUE(statuses[t].ok()) << "thread " << t << ": " << Describe(statuses[t]);
  }
  EXPECT_TRUE(ListAll(*stub_).empty());
}

TEST_F(UserConcurrencyTest, RacingUpdateAndDeleteOfOneUserLeaveNoEmailClaimed) {
  // Whichever wins, once both have returned the user is gone and neither its old email nor the
  // one the update asked for is held by anybody.
  constexpr int kRounds = 100;
  for (int round = 0; round < kRounds; ++round) {
    const std::string old_email = "old" + std::to_string(round) + "@example.com";
    const std::string new_email = "new" + std::to_string(round) + "@example.com";
    v1::User user = MustCreate("Racer", old_email, {}, &StubFor(round));
    std::vector<Status> statuses = RunTogether(2, [&](int i) {
      if (i == 0) return UpdateUser(StubFor(round + 1), EmailUpdate(user.id(), new_email));
      return DeleteUser(StubFor(round + 2), user.id());
    });
    ASSERT_TRUE(statuses[1].ok()) << "round " << round << " delete: " << Describe(statuses[1]);
    ASSERT_TRUE(statuses[0].ok() || statuses[0].error_code() == StatusCode::NOT_FOUND)
        << "round " << round << " update: " << Describe(statuses[0]);
    for (const std::string& email : {old_email, new_email}) {
      Status status = CreateUser(StubFor(round + 3), CreateRequest("After", email));
      ASSERT_TRUE(status.ok()) << "round " << round << ": " << email
                               << " still claimed after the user was deleted (update "
                               << Describe(statuses[0]) << "): " << Describe(status);
    }
  }
}

TEST_F(UserConcurrencyTest, RacingEmailUpdatesOfOneUserLeaveOnlyItsFinalEmailClaimed) {
  constexpr int kRounds = 100;
  for (int round = 0; round < kRounds; ++round) {
    const std::string r = std::to_string(round);
    const std::string original = "orig" + r + "@example.com";
    const std::vector<std::string> wanted = {"a" + r + "@example.com", "b" + r + "@example.com"};
    v1::User user = MustCreate("Racer", original, {}, &StubFor(round));
    std::vector<Status> statuses = RunTogether(2, [&](int i) {
      return UpdateUser(StubFor(round + 1 + i), EmailUpdate(user.id(), wanted[i]));
    });
    // Both may succeed (one after the other); the server may also refuse one of two
    // overlapping email changes of one user with ABORTED (user-service.md does not say; the
    // client retries).
    int succeeded = 0;
    for (const Status& s : statuses) {
      ASSERT_TRUE(s.ok() || s.error_code() == StatusCode::ABORTED)
          << "round " << round << ": " << Describe(s);
      succeeded += s.ok();
    }
    ASSERT_GE(succeeded, 1) << "round " << round << ": both updates were refused";
    v1::User now = MustGet(user.id());
    ASSERT_TRUE(now.email() == wanted[0] || now.email() == wanted[1]) << now.email();
    // The final email is held; the original and the other one are free.
    EXPECT_TRUE(HasCode(CreateUser(StubFor(round + 3), CreateRequest("X", now.email())),
                        StatusCode::ALREADY_EXISTS))
        << "round " << round;
    const std::string& other = now.email() == wanted[0] ? wanted[1] : wanted[0];
    for (const std::string& email : {original, other}) {
      Status status = CreateUser(StubFor(round + 3), CreateRequest("After", email));
      ASSERT_TRUE(status.ok()) << "round " << round << ": " << email
                               << " still claimed though the user now has " << now.email()
                               << " (updates " << Describe(statuses[0]) << ", "
                               << Describe(statuses[1]) << "): " << Describe(status);
    }
  }
}

TEST_F(UserConcurrencyTest, PagingWhileOthersWriteNeverRepeatsOrSkipsAUser) {
  constexpr int kUsers = 400;  // half stay unchanged, half churn; they interleave in id order
  constexpr int kWriters = 3;
  std::map<std::string, v1::User> stable;
  std::vector<std::vector<std::string>> churn(kWriters);
  for (int i = 0; i < kUsers; ++i) {
    v1::User u =
        MustCreate("User", "initial" + std::to_string(i) + "@example.com", {}, &StubFor(i));
    if (i % 2) {
      stable[u.id()] = u;
    } else {
      churn[(i / 2) % kWriters].push_back(u.id());
    }
  }

  std::atomic<bool> stop{false};
  std::atomic<int64_t> writes{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      Stub& stub = StubFor(t);
      std::vector<std::string>& mine = churn[t];
      for (int n = 0; !stop.load(); ++n) {
        size_t k = static_cast<size_t>(n) % mine.size();
        std::string tag = std::to_string(t) + "-" + std::to_string(n);
        Status status;
        switch (n % 3) {
          case 0:
            status = UpdateUser(stub, NameUpdate(mine[k], "Renamed " + tag));
            break;
          case 1:
            status = UpdateUser(stub, EmailUpdate(mine[k], "moved" + tag + "@example.com"));
            break;
          case 2: {  // delete one, create a replacement (it sorts last)
            status = DeleteUser(stub, mine[k]);
            v1::User fresh;
            if (status.ok()) {
              status =
                  CreateUser(stub, CreateRequest("Fresh", "fresh" + tag + "@example.com"), &fresh);
            }
            if (status.ok()) mine[k] = fresh.id();
            break;
          }
        }
        if (!status.ok() && failures.fetch_add(1) < 5) {
          ADD_FAILURE() << "writer " << t << " op " << n << ": " << Describe(status);
        }
        writes.fetch_add(1);
      }
    });
  }

  int64_t writes_during_walks = 0;
  for (int32_t page_size : {7, 7, 3, 50}) {
    SCOPED_TRACE("page_size " + std::to_string(page_size));
    int64_t before = writes.load();
    std::vector<std::string> walked;
    std::map<std::string, v1::User> seen_stable;
    std::string token;
    bool walk_ok = true;
    for (int pages = 0;; ++pages) {
      Page page = ListPage(*stub_, page_size, token);
      if (!page.status.ok() || pages > 10000) {
        ADD_FAILURE() << "page " << pages << ": " << Describe(page.status);
        walk_ok = false;
        break;
      }
      for (const v1::User& u : page.items) {
        walked.push_back(u.id());
        if (stable.contains(u.id())) seen_stable[u.id()] = u;
      }
      if (!page.more()) break;
      token = page.token;
    }
    writes_during_walks += writes.load() - before;
    if (!walk_ok) break;
    for (size_t i = 1; i < walked.size(); ++i) {
      if (!(walked[i - 1] < walked[i])) {
        ADD_FAILURE() << "walk position " << i << ": " << walked[i] << " after " << walked[i - 1]
                      << (walked[i] == walked[i - 1] ? " (yielded twice)" : " (out of order)");
        break;
      }
    }
    EXPECT_EQ(seen_stable.size(), stable.size()) << "the walk skipped unchanged users";
    for (const auto& [id, user] : seen_stable) {
      EXPECT_TRUE(SameUser(user, stable[id])) << "an unchanged user changed";
    }
  }
  stop.store(true);
  for (auto& w : writers) w.join();
  EXPECT_EQ(failures.load(), 0);
  // Otherwise the walks proved nothing.
  EXPECT_GT(writes_during_walks, 10) << "the writers barely ran during the walks";
  std::printf("[          ] %lld writes during 4 walks\n",
              static_cast<long long>(writes_during_walks));
}

}  // namespace
}  // namespace percore::user_test
