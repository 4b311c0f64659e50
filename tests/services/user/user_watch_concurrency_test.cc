// user.v1.UserService.WatchUserUpdates under concurrent writers (shared/spec/user-service.md):
// watches of everyone registering while others write, each change of one user delivered once in
// commit order, and many watchers on every shard of a 3-shard server each getting every event of
// theirs exactly once.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/services/user/user_watch_test_support.h"

namespace percore::user_test {
namespace {

TEST_F(UserWatchTest, WatchOfEveryUserRegistersWhileOthersWrite) {
  // Registering a watch of everyone subscribes on every shard; changes keep committing on all
  // of them meanwhile. Each watch must come up (metadata, then every later change) whatever
  // arrives during its registration.
  constexpr int kWriters = 4;
  constexpr int kRounds = 200;
  std::vector<std::string> busy;
  for (int i = 0; i < kWriters; ++i) {
    busy.push_back(MustCreate("Busy", "busy" + std::to_string(i) + "@example.com").id());
  }
  v1::User probe = MustCreate("Probe", "probe@example.com");
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      auto stub = NewStub();
      for (int n = 0; !stop.load(); ++n) {
        if (!UpdateUser(*stub, NameUpdate(busy[t], "Busy " + std::to_string(n))).ok()) {
          failures.fetch_add(1);
        }
      }
    });
  }
  auto probe_stub = NewStub();
  int probes_seen = 0;
  for (int round = 0; round < kRounds; ++round) {
    Watch watch(*stub_, "", 20s);
    watch.WaitUntilRegistered();
    v1::User updated;
    if (!UpdateUser(*probe_stub, NameUpdate(probe.id(), "Probe " + std::to_string(round)), &updated)
             .ok()) {
      break;
    }
    // The writers' events may come first; the probe's change must come.
    for (int events = 0; events < 100000; ++events) {
      std::optional<v1::UserUpdate> event = watch.Next();
      if (!event) break;
      if (event->user_id() == probe.id()) {
        EXPECT_TRUE(IsEvent(event, kUpdated, updated)) << "round " << round;
        ++probes_seen;
        break;
      }
    }
    if (probes_seen != round + 1) {
      ADD_FAILURE() << "round " << round << ": the probe's change never arrived";
      break;
    }
  }
  stop.store(true);
  for (auto& w : writers) w.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(probes_seen, kRounds);
}

TEST_F(UserWatchTest, ConcurrentUpdatesOfOneUserArriveOnceInCommitOrder) {
  constexpr int kWriters = 4;
  constexpr int kUpdatesEach = 100;
  v1::User user = MustCreate("Ada", "ada@example.com");
  auto watch_stub = NewStub();
  Watch watch(*watch_stub, user.id(), 60s);
  watch.WaitUntilRegistered();

  std::mutex mu;
  std::map<std::string, v1::User> responses;  // name -> the user after that update
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      auto stub = NewStub();
      for (int i = 0; i < kUpdatesEach; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "w%d-%03d", t, i);
        v1::User after;
        if (!UpdateUser(*stub, NameUpdate(user.id(), name), &after).ok()) {
          failures.fetch_add(1);
          continue;
        }
        std::lock_guard lock(mu);
        responses[name] = after;
      }
    });
  }

  std::vector<v1::UserUpdate> events = watch.Next(kWriters * kUpdatesEach);
  for (auto& w : writers) w.join();
  ASSERT_EQ(failures.load(), 0);
  ASSERT_EQ(events.size(), static_cast<size_t>(kWriters * kUpdatesEach))
      << "stream ended: " << Describe(watch.Finish());

  std::set<std::string> seen;
  std::vector<int> last_of_writer(kWriters, -1);
  int64_t last_updated_at = 0;
  for (const v1::UserUpdate& event : events) {
    const std::string& name = event.user().name();
    ASSERT_EQ(event.type(), kUpdated) << event.ShortDebugString();
    ASSERT_EQ(event.user_id(), user.id());
    EXPECT_TRUE(seen.insert(name).second) << "delivered twice: " << name;
    int writer = name[1] - '0';
    int index = std::stoi(name.substr(3));
    EXPECT_GT(index, last_of_writer[writer]) << "writer " << writer << "'s updates out of order";
    last_of_writer[writer] = index;
    EXPECT_GE(Nanos(event.user().updated_at()), last_updated_at) << "updated_at went backwards";
    last_updated_at = Nanos(event.user().updated_at());
    EXPECT_TRUE(SameUser(event.user(), responses[name])) << "not the user after " << name;
  }
  EXPECT_TRUE(SameUser(events.back().user(), MustGet(user.id())))
      << "the last event is not the stored user";
}

TEST_F(UserWatchTest, WatchOfEveryUserUnderConcurrentWritersSeesEachChangeOnceInUserOrder) {
  constexpr int kWriters = 4;
  constexpr int kUsersEach = 10;
  constexpr int kEventsPerUser = 5;  // created, 3 updates, deleted
  auto watch_stub = NewStub();
  Watch watch(*watch_stub, "", 60s);
  watch.WaitUntilRegistered();

  std::mutex mu;
  std::map<std::string, std::vector<std::pair<Type, v1::User>>> expected;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      auto stub = NewStub();
      for (int u = 0; u < kUsersEach; ++u) {
        std::string tag = std::to_string(t) + "-" + std::to_string(u);
        std::vector<std::pair<Type, v1::User>> mine;
        v1::User state;
        if (!CreateUser(*stub, CreateRequest("User " + tag, "u" + tag + "@example.com"), &state)
                 .ok()) {
          failures.fetch_add(1);
          continue;
        }
        mine.emplace_back(kCreated, state);
        for (int k = 0; k < 3; ++k) {
          if (!UpdateUser(*stub, NameUpdate(state.id(), tag + " v" + std::to_string(k)), &state)
                   .ok()) {
            failures.fetch_add(1);
          }
          mine.emplace_back(kUpdated, state);
        }
        if (!DeleteUser(*stub, state.id()).ok()) failures.fetch_add(1);
        mine.emplace_back(kDeleted, state);
        std::lock_guard lock(mu);
        expected[state.id()] = std::move(mine);
      }
    });
  }

  std::map<std::string, std::vector<v1::UserUpdate>> got;
  int received = 0;
  for (; received < kWriters * kUsersEach * kEventsPerUser; ++received) {
    std::optional<v1::UserUpdate> event = watch.Next();
    if (!event) break;
    got[event->user_id()].push_back(*event);
  }
  for (auto& w : writers) w.join();
  ASSERT_EQ(failures.load(), 0);
  ASSERT_EQ(received, kWriters * kUsersEach * kEventsPerUser)
      << "stream ended: " << Describe(watch.Finish());
  ASSERT_EQ(got.size(), expected.size());
  for (const auto& [id, sequence] : expected) {
    SCOPED_TRACE("user " + id);
    const auto& events = got[id];
    ASSERT_EQ(events.size(), sequence.size());
    for (size_t k = 0; k < sequence.size(); ++k) {
      EXPECT_TRUE(IsEvent(events[k], sequence[k].first, sequence[k].second)) << "event " << k;
    }
  }
  // Nothing else was pending: the next event is the marker's.
  v1::User marker = MustCreate("Marker", "marker@example.com");
  EXPECT_TRUE(IsEvent(watch.Next(), kCreated, marker));
}

// Many watchers on every shard of a 3-shard server, of every user and of single users whose
// rows live on different shards: each event reaches each of its watchers exactly once, in each
// user's commit order, and one-user watches end with OK after DELETED. Catches a fan-out that
// delivers an event to only some watchers of a shard, to only some shards, or twice.
class UserWatchFanOutTest : public UserServiceTest {
 protected:
  testing::ServerFixtureOptions FixtureOptions() override { return {.shards = 3}; }
};

TEST_F(UserWatchFanOutTest, EveryWatcherOnEveryShardGetsEachEventOnceInUserOrder) {
  constexpr int kChannels = 9;
  constexpr int kWatchesPerChannel = 6;
  constexpr int kUsers = 6;
  constexpr int kUpdatesEach = 15;
  // Users created over several connections land on several shards (a new id hashes to the
  // shard that served its CreateUser).
  std::vector<std::unique_ptr<Stub>> stubs;
  for (int c = 0; c < kChannels; ++c) stubs.push_back(NewStub());
  std::vector<v1::User> users;
  for (int u = 0; u < kUsers; ++u) {
    users.push_back(MustCreate("User " + std::to_string(u), Email(u), {}, stubs[u].get()));
  }
  // Per channel: watchers of everyone and of single users (several per user, so a shard has
  // several watchers of one key).
  struct Watcher {
    std::unique_ptr<Watch> watch;
    int user;  // -1: every user
  };
  std::vector<Watcher> watchers;
  for (int c = 0; c < kChannels; ++c) {
    for (int w = 0; w < kWatchesPerChannel; ++w) {
      int user = w % 2 == 0 ? -1 : (c + w) % kUsers;
      watchers.push_back(
          {std::make_unique<Watch>(*stubs[c], user < 0 ? "" : users[user].id(), 30s), user});
    }
  }
  for (auto& w : watchers) w.watch->WaitUntilRegistered();
  int shards_with_watchers = 0;
  for (size_t i = 0; i < server_->runtime().size(); ++i) {
    if (server_->runtime().shard(static_cast<runtime::ShardId>(i)).live_calls() > 0) {
      ++shards_with_watchers;
    }
  }
  ASSERT_GE(shards_with_watchers, 2) << "the watchers did not spread over the shards";

  // Interleaved writes to every user, then every user deleted.
  std::vector<std::vector<std::pair<Type, v1::User>>> expected(kUsers);
  for (int i = 0; i < kUpdatesEach; ++i) {
    for (int u = 0; u < kUsers; ++u) {
      v1::User after;
      ASSERT_TRUE(UpdateUser(*stubs[(u + i) % kChannels],
                             NameUpdate(users[u].id(), "v" + std::to_string(i)), &after)
                      .ok());
      expected[u].emplace_back(kUpdated, after);
    }
  }
  for (int u = 0; u < kUsers; ++u) {
    ASSERT_TRUE(DeleteUser(*stub_, users[u].id()).ok());
    expected[u].emplace_back(kDeleted, expected[u].back().second);
  }

  const size_t per_user = expected[0].size();
  for (size_t n = 0; n < watchers.size(); ++n) {
    SCOPED_TRACE("watcher " + std::to_string(n) + " of user " + std::to_string(watchers[n].user));
    Watch& watch = *watchers[n].watch;
    if (watchers[n].user >= 0) {
      for (const auto& [type, state] : expected[watchers[n].user]) {
        ASSERT_TRUE(IsEvent(watch.Next(), type, state));
      }
      EXPECT_TRUE(watch.DrainAndFinish().ok());
      continue;
    }
    std::map<std::string, size_t> next;  // user id -> index of its next expected event
    for (size_t k = 0; k < per_user * kUsers; ++k) {
      std::optional<v1::UserUpdate> event = watch.Next();
      ASSERT_TRUE(event) << "ended after " << k << " events: " << Describe(watch.Finish());
      auto it = std::find_if(users.begin(), users.end(),
                             [&](const v1::User& u) { return u.id() == event->user_id(); });
      ASSERT_NE(it, users.end()) << event->ShortDebugString();
      size_t& i = next[event->user_id()];
      ASSERT_LT(i, per_user) << "more events than changes for " << event->user_id();
      const auto& [type, state] = expected[it - users.begin()][i++];
      ASSERT_TRUE(IsEvent(event, type, state)) << "event " << i - 1 << " of its user";
    }
  }
  // Nothing more was sent: the next event each watcher of everyone sees is the marker's.
  v1::User marker = MustCreate("Marker", "marker@example.com");
  for (size_t n = 0; n < watchers.size(); ++n) {
    if (watchers[n].user < 0) {
      EXPECT_TRUE(IsEvent(watchers[n].watch->Next(), kCreated, marker));
    }
  }
}

}  // namespace
}  // namespace percore::user_test
