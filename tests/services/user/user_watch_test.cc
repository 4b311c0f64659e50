// user.v1.UserService.WatchUserUpdates end to end (shared/spec/user-service.md): registration
// signalled by initial metadata, every later change delivered once in commit order with the
// user after it, the end after DELETED, watching everyone, a slow watcher cut off with
// RESOURCE_EXHAUSTED without holding writers back, and cancelled watches leaving nothing.

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/rpc/call_base.h"
#include "tests/services/user/user_test_support.h"
#include "tests/testing/client_queue.h"

namespace percore::user_test {
namespace {

using ::percore::testing::ClientQueue;
using ::percore::testing::WaitFor;
using Type = v1::UserUpdate::UpdateType;
constexpr Type kCreated = v1::UserUpdate::UPDATE_TYPE_CREATED;
constexpr Type kUpdated = v1::UserUpdate::UPDATE_TYPE_UPDATED;
constexpr Type kDeleted = v1::UserUpdate::UPDATE_TYPE_DELETED;

// `got` is a `type` event whose user is exactly `user`.
::testing::AssertionResult IsEvent(const std::optional<v1::UserUpdate>& got, Type type,
                                   const v1::User& user) {
  if (!got) return ::testing::AssertionFailure() << "the stream ended; expected an event";
  if (got->type() != type) {
    return ::testing::AssertionFailure()
           << "type " << v1::UserUpdate::UpdateType_Name(got->type()) << ", expected "
           << v1::UserUpdate::UpdateType_Name(type) << " in {" << got->ShortDebugString() << "}";
  }
  if (got->user_id() != user.id()) {
    return ::testing::AssertionFailure()
           << "user_id " << got->user_id() << ", expected " << user.id();
  }
  return SameUser(got->user(), user);
}

v1::UpdateUserRequest RolesUpdate(const std::string& id, const std::vector<std::string>& roles) {
  v1::UpdateUserRequest request;
  request.set_id(id);
  for (const auto& r : roles) request.add_roles(r);
  return request;
}

class UserWatchTest : public UserServiceTest {};

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

  std::vector<v1::UserUpdate> events;
  for (int i = 0; i < kWriters * kUpdatesEach; ++i) {
    std::optional<v1::UserUpdate> event = watch.Next();
    if (!event) break;
    events.push_back(*event);
  }
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
  void SetUp() override {
    testing::ServerFixtureOptions options;
    options.shards = 3;
    server_ = std::make_unique<testing::ServerFixture>(
        testing::ServerFixture::CatalogServices({"user"}), options);
    grpc::Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.error_message();
    stub_ = server_->MakeStub<v1::UserService>();
  }
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

// A channel whose client does not grow its HTTP/2 receive window (no BDP probing), so a watcher
// that stops reading soon stops the server's writes and its events pile up on the server.
std::shared_ptr<grpc::Channel> SmallWindowChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt("grpc.http2.bdp_probe", 0);
  args.SetString("percore.test.channel", "slow-watcher");
  args.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

TEST_F(UserWatchTest, SlowWatcherEndsWithResourceExhaustedAndWritersKeepGoing) {
  constexpr int kUpdates = 5000;  // well past the default bound of 1024 events
  // 32 roles of 64 characters make every event about 2.3 KB, so transport buffers hold few.
  std::vector<std::string> roles;
  for (int i = 0; i < 32; ++i) {
    std::string role = "role-" + std::to_string(i) + "-";
    roles.push_back(role + std::string(64 - role.size(), 'r'));
  }
  v1::User user = MustCreate("Ada", "ada@example.com", roles);
  auto watch_stub = v1::UserService::NewStub(SmallWindowChannel(server_->address()));
  Watch watch(*watch_stub, user.id(), 120s);
  watch.WaitUntilRegistered();

  // The watcher reads nothing while every update goes through.
  auto begin = std::chrono::steady_clock::now();
  auto slowest = std::chrono::steady_clock::duration::zero();
  int failures = 0;
  for (int i = 1; i <= kUpdates; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "n-%05d", i);
    auto call_begin = std::chrono::steady_clock::now();
    // A writer held back by the watcher would hit this deadline.
    Status status = UpdateUser(*stub_, NameUpdate(user.id(), name), nullptr, 10s);
    slowest = std::max(slowest, std::chrono::steady_clock::now() - call_begin);
    if (!status.ok() && failures++ < 5) ADD_FAILURE() << "update " << i << ": " << Describe(status);
  }
  auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_EQ(failures, 0);
  std::printf(
      "[          ] %d updates past a stalled watcher: %lld ms, slowest %lld ms\n", kUpdates,
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()),
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count()));

  // Now it reads: a gap-free prefix of the updates, then RESOURCE_EXHAUSTED.
  int received = 0;
  while (std::optional<v1::UserUpdate> event = watch.Next()) {
    ++received;
    char name[16];
    std::snprintf(name, sizeof name, "n-%05d", received);
    ASSERT_EQ(event->type(), kUpdated);
    ASSERT_EQ(event->user().name(), name) << "event " << received << " skipped or out of order";
  }
  Status status = watch.Finish();
  std::printf("[          ] the stalled watcher got %d events before its status\n", received);
  EXPECT_TRUE(HasCode(status, StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_GE(received, 1) << "no update reached the watcher before it was cut off";
  EXPECT_LT(received, kUpdates) << "every event was delivered, so nothing was bounded";

  // The watcher can re-read and re-watch.
  char last[16];
  std::snprintf(last, sizeof last, "n-%05d", kUpdates);
  EXPECT_EQ(MustGet(user.id()).name(), last);
  Watch again(*watch_stub, user.id(), 20s);
  again.WaitUntilRegistered();
  v1::User after = MustUpdate(NameUpdate(user.id(), "after"));
  EXPECT_TRUE(IsEvent(again.Next(), kUpdated, after));
}

TEST_F(UserWatchTest, ShutdownEndsOpenWatchesWithinTheGrace) {
  v1::User user = MustCreate("Ada", "ada@example.com");
  std::vector<std::unique_ptr<Stub>> stubs;
  std::vector<std::unique_ptr<Watch>> watches;
  for (int i = 0; i < 8; ++i) {
    stubs.push_back(NewStub());
    watches.push_back(std::make_unique<Watch>(*stubs.back(), i % 2 ? user.id() : "", 30s));
    watches.back()->WaitUntilRegistered();
  }
  constexpr auto kGrace = 5s;
  auto begin = std::chrono::steady_clock::now();
  server_->Shutdown(kGrace);
  auto took = std::chrono::steady_clock::now() - begin;
  // The service ends its watches when the drain begins, so shutdown need not wait them out.
  EXPECT_LT(took, kGrace) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                          << " ms";
  for (size_t i = 0; i < watches.size(); ++i) {
    Status status = watches[i]->DrainAndFinish();
    EXPECT_FALSE(status.ok()) << "watch " << i << " ended OK on shutdown";
    EXPECT_NE(status.error_code(), StatusCode::DEADLINE_EXCEEDED) << "watch " << i << " hung";
  }
}

// One async watch and its client-side state machine.
struct AsyncWatch {
  enum Op : intptr_t { kStart = 0, kMetadata = 1, kFinish = 2 };
  void* tag(Op op) { return reinterpret_cast<char*>(this) + op; }
  static std::pair<AsyncWatch*, Op> FromTag(void* tag) {
    auto address = reinterpret_cast<intptr_t>(tag);
    return {reinterpret_cast<AsyncWatch*>(address & ~intptr_t{3}), static_cast<Op>(address & 3)};
  }

  ClientContext context;
  Status status;
  std::unique_ptr<grpc::ClientAsyncReader<v1::UserUpdate>> reader;
};
static_assert(alignof(AsyncWatch) >= 4, "tags use the low two bits");

TEST_F(UserWatchTest, CancelledWatchesReleaseEverything) {
  constexpr int kWatches = 300;
  constexpr int kChannels = 3;
  // Only the posted requests exist before the first call of the test.
  const int64_t baseline = server_->live_call_objects();
  ASSERT_GT(baseline, 0);
  v1::User user = MustCreate("Ada", "ada@example.com");

  std::vector<std::unique_ptr<Stub>> stubs;
  for (int i = 0; i < kChannels; ++i) stubs.push_back(NewStub());
  std::vector<std::unique_ptr<AsyncWatch>> watches;
  ClientQueue queue;  // destroyed (drained) before the watches
  for (int i = 0; i < kWatches; ++i) {
    auto w = std::make_unique<AsyncWatch>();
    SetDeadline(w->context, 60s);
    queue.CancelBeforeDrain(&w->context);
    v1::WatchUserRequest request;
    request.set_user_id(i % 2 ? user.id() : "");  // half watch the user, half everyone
    w->reader =
        stubs[i % kChannels]->PrepareAsyncWatchUserUpdates(&w->context, request, queue.cq());
    w->reader->StartCall(w->tag(AsyncWatch::kStart));
    w->reader->ReadInitialMetadata(w->tag(AsyncWatch::kMetadata));
    watches.push_back(std::move(w));
  }
  // Every watch is registered (its initial metadata is in).
  int registered = 0;
  auto until = std::chrono::steady_clock::now() + 30s;
  for (int events = 0; events < 2 * kWatches;) {
    ASSERT_LT(std::chrono::steady_clock::now(), until) << registered << " registered";
    auto event = queue.Next(1s);
    if (!event) continue;
    ++events;
    auto [w, op] = AsyncWatch::FromTag(event->tag);
    ASSERT_TRUE(event->ok) << "op " << op;
    if (op == AsyncWatch::kMetadata) ++registered;
  }
  ASSERT_EQ(registered, kWatches);
  EXPECT_TRUE(WaitFor([&] { return server_->live_calls() == kWatches; }, 10s))
      << "live calls " << server_->live_calls();

  for (auto& w : watches) {
    w->context.TryCancel();
    w->reader->Finish(&w->status, w->tag(AsyncWatch::kFinish));
  }
  for (int finished = 0; finished < kWatches;) {
    ASSERT_LT(std::chrono::steady_clock::now(), until) << finished << " finished";
    auto event = queue.Next(1s);
    if (!event) continue;
    auto [w, op] = AsyncWatch::FromTag(event->tag);
    ASSERT_EQ(op, AsyncWatch::kFinish);
    EXPECT_TRUE(HasCode(w->status, StatusCode::CANCELLED));
    ++finished;
  }

  // Writes to the user find no dead watcher to feed, and every call object is freed.
  for (int i = 0; i < 20; ++i) MustUpdate(NameUpdate(user.id(), "Ada " + std::to_string(i)));
  bool settled = WaitFor(
      [&] { return server_->live_call_objects() == baseline && server_->live_calls() == 0; }, 10s);
  EXPECT_TRUE(settled) << "live call objects " << server_->live_call_objects() << " (baseline "
                       << baseline << "), live calls " << server_->live_calls();
  for (size_t i = 0; i < server_->runtime().size(); ++i) {
    EXPECT_EQ(server_->runtime().shard(static_cast<runtime::ShardId>(i)).live_calls(), 0)
        << "shard " << i;
  }
  // And watching still works.
  Watch watch(*stub_, user.id(), 20s);
  watch.WaitUntilRegistered();
  v1::User after = MustUpdate(NameUpdate(user.id(), "after"));
  EXPECT_TRUE(IsEvent(watch.Next(), kUpdated, after));
}

}  // namespace
}  // namespace percore::user_test
