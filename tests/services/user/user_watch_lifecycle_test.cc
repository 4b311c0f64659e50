// user.v1.UserService.WatchUserUpdates at the edges of a watch's life
// (shared/spec/user-service.md): a slow watcher cut off with RESOURCE_EXHAUSTED without holding
// writers back, shutdown ending open watches within the grace, and cancelled watches leaving
// nothing behind.

#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/rpc/call_base.h"
#include "tests/services/user/user_watch_test_support.h"
#include "tests/testing/async_tags.h"
#include "tests/testing/client_queue.h"

namespace percore::user_test {
namespace {

using ::percore::testing::ClientQueue;
using ::percore::testing::WaitFor;

TEST_F(UserWatchTest, SlowWatcherEndsWithResourceExhaustedAndWritersKeepGoing) {
  constexpr int kUpdates = 5000;  // well past the default bound of 1024 events
  // 32 roles of 64 characters make every event about 2.3 KB, so transport buffers hold few.
  std::vector<std::string> roles;
  for (int i = 0; i < 32; ++i) {
    std::string role = "role-" + std::to_string(i) + "-";
    roles.push_back(role + std::string(64 - role.size(), 'r'));
  }
  v1::User user = MustCreate("Ada", "ada@example.com", roles);
  // A watcher that stops reading soon stops the server's writes: its events pile up there.
  auto watch_stub =
      server_->MakeStub<v1::UserService>(server_->NewSmallWindowChannel("slow-watcher"));
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
  auto took = server_->TimedShutdown(kGrace);
  // The service ends its watches when the drain begins, so shutdown need not wait them out.
  EXPECT_LT(took, kGrace) << took.count() << " ms";
  for (size_t i = 0; i < watches.size(); ++i) {
    Status status = watches[i]->DrainAndFinish();
    EXPECT_FALSE(status.ok()) << "watch " << i << " ended OK on shutdown";
    EXPECT_NE(status.error_code(), StatusCode::DEADLINE_EXCEEDED) << "watch " << i << " hung";
  }
}

// One async watch and its client-side state machine.
struct AsyncWatch : testing::OpTags<AsyncWatch> {
  enum : Op { kStart = 0, kMetadata = 1, kFinish = 2 };

  ClientContext context;
  Status status;
  std::unique_ptr<grpc::ClientAsyncReader<v1::UserUpdate>> reader;
};

TEST_F(UserWatchTest, CancelledWatchesReleaseEverything) {
  constexpr int kWatches = 300;
  constexpr int kChannels = 3;
  // Only the posted requests exist before the first call of the test.
  ASSERT_EQ(server_->live_call_objects(), server_->idle_call_objects());
  ASSERT_GT(server_->idle_call_objects(), 0);
  v1::User user = MustCreate("Ada", "ada@example.com");

  std::vector<std::unique_ptr<Stub>> stubs;
  for (int i = 0; i < kChannels; ++i) stubs.push_back(NewStub());
  std::vector<std::unique_ptr<AsyncWatch>> watches;
  ClientQueue queue;  // destroyed (drained) before the watches
  for (int i = 0; i < kWatches; ++i) {
    auto w = std::make_unique<AsyncWatch>();
    queue.Adopt(&w->context, 60s);
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
  EXPECT_TRUE(server_->WaitUntilNoCalls(10s));
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
