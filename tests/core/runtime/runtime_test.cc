// The runtime in both loop modes (gRPC completion queue, epoll): tasks run on the shard they were
// sent to, hops come back to the shard that asked, timers fire in order and can be cancelled,
// Stop() joins.

#include "core/runtime/runtime.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <utility>
#include <vector>

#include "core/runtime/usable_cpus.h"
#include "tests/testing/runtime_fixture.h"

namespace percore::runtime {
namespace {

// Every case runs in both loop modes: blocking in the completion queue (the default) and in
// epoll_wait (the native transport's; epoll_loop_test.cc has what only that mode has).
class RuntimeTest : public testing::RuntimeFixture, public ::testing::WithParamInterface<LoopMode> {
 protected:
  RuntimeTest() : RuntimeFixture(RuntimeOptions{.shards = 2, .loop = GetParam()}) {}
};

INSTANTIATE_TEST_SUITE_P(BothLoops, RuntimeTest,
                         ::testing::Values(LoopMode::kCompletionQueue, LoopMode::kEpoll),
                         [](const ::testing::TestParamInfo<LoopMode>& info) {
                           return info.param == LoopMode::kEpoll ? "Epoll" : "CompletionQueue";
                         });

TEST_P(RuntimeTest, SubmitToRunsOnThatShardsThread) {
  EXPECT_EQ(runtime_.size(), 2u);
  for (ShardId id = 0; id < 2; ++id) {
    ShardId seen = On(id, [] { return Shard::Current()->id(); });
    EXPECT_EQ(seen, id);
  }
  EXPECT_EQ(Shard::Current(), nullptr);  // the test thread is no shard
}

TEST_P(RuntimeTest, HopRunsWorkOnTargetAndContinuationBackHome) {
  std::promise<std::vector<ShardId>> done;
  runtime_.SubmitTo(0, [&] {
    runtime_.Hop(
        1, [] { return Shard::Current()->id(); },
        [&](ShardId worked_on) {
          done.set_value({worked_on, Shard::Current()->id()});
        });
  });
  std::vector<ShardId> seen = done.get_future().get();
  EXPECT_EQ(seen[0], 1u);  // work ran on the target
  EXPECT_EQ(seen[1], 0u);  // the continuation ran back home
}

TEST_P(RuntimeTest, HopToOwnShardRunsInline) {
  std::promise<bool> done;
  runtime_.SubmitTo(1, [&] {
    bool continued = false;
    runtime_.Hop(
        1, [] { return 7; }, [&](int v) { continued = (v == 7); });
    done.set_value(continued);  // already ran, before Hop returned
  });
  EXPECT_TRUE(done.get_future().get());
}

TEST_P(RuntimeTest, RunOnAllReachesEveryShard) {
  std::atomic<int> mask{0};
  std::atomic<int> count{0};
  runtime_.RunOnAll([&](Shard& shard) {
    mask.fetch_or(1 << shard.id());
    count.fetch_add(1);
  });
  for (int i = 0; i < 500 && count.load() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(count.load(), 2);
  EXPECT_EQ(mask.load(), 0b11);
}

TEST_P(RuntimeTest, TimersFireInDeadlineOrderAndCancelledOnesNever) {
  std::promise<std::vector<int>> done;
  runtime_.SubmitTo(0, [&] {
    auto order = std::make_shared<std::vector<int>>();
    Shard& shard = *Shard::Current();
    shard.RunAfter(std::chrono::milliseconds(30), [order] { order->push_back(3); });
    shard.RunAfter(std::chrono::milliseconds(10), [order] { order->push_back(1); });
    TimerId cancelled =
        shard.RunAfter(std::chrono::milliseconds(15), [order] { order->push_back(99); });
    shard.RunAfter(std::chrono::milliseconds(20), [order] { order->push_back(2); });
    EXPECT_TRUE(shard.CancelTimer(cancelled));
    EXPECT_FALSE(shard.CancelTimer(cancelled));
    shard.RunAfter(std::chrono::milliseconds(60), [order, &done] { done.set_value(*order); });
  });
  EXPECT_EQ(done.get_future().get(), (std::vector<int>{1, 2, 3}));
}

TEST_P(RuntimeTest, ManyCrossShardHopsAllComeBack) {
  static constexpr int kHops = 20000;
  std::promise<int> done;
  runtime_.SubmitTo(0, [&] {
    auto returned = std::make_shared<int>(0);
    for (int i = 0; i < kHops; ++i) {
      runtime_.Hop(
          1, [i] { return i; },
          [returned, &done](int) {
            if (++*returned == kHops) done.set_value(*returned);
          });
    }
  });
  EXPECT_EQ(done.get_future().get(), kHops);
}

TEST_P(RuntimeTest, RunOnAllAndWaitReturnsOnceEveryShardHasRun) {
  // Plain ints, each written on its shard's thread: what the wait promises is that those writes
  // are done (and visible) when it returns; ThreadSanitizer would see a race otherwise.
  int ran[2] = {0, 0};
  runtime_.RunOnAllAndWait([&](Shard& shard) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the caller does not wait less
    ran[shard.id()] = 1;
  });
  EXPECT_EQ(ran[0], 1);
  EXPECT_EQ(ran[1], 1);
}

TEST(RuntimeLifecycleTest, RunOnAllAndWaitAfterStopReturnsWithoutRunning) {
  Runtime runtime(RuntimeOptions{.shards = 2});
  runtime.Start();
  runtime.Stop();
  bool ran = false;
  runtime.RunOnAllAndWait([&](Shard&) { ran = true; });  // closed shards skip it, no hang
  EXPECT_FALSE(ran);
}

TEST(RuntimeLifecycleTest, StopIsIdempotentAndSubmitAfterStopIsRefused) {
  Runtime runtime(RuntimeOptions{.shards = 2});
  runtime.Start();
  runtime.Stop();
  runtime.Stop();
  EXPECT_FALSE(runtime.SubmitTo(0, [] {}));
}

// A stand-in for a call handle: shard-affine, so it records the shard thread it is destroyed on.
// Destroyed on a foreign shard's thread is the race (the home shard may be touching the same
// call object at that moment); on its home shard, or after every shard thread has been joined,
// is safe.
struct HomeAffine {
  explicit HomeAffine(std::atomic<int>* foreign) : foreign_destroys(foreign) {}
  HomeAffine(HomeAffine&& other) noexcept
      : home(other.home), foreign_destroys(std::exchange(other.foreign_destroys, nullptr)) {}
  ~HomeAffine() {
    Shard* on = Shard::Current();
    if (foreign_destroys != nullptr && on != nullptr && on->id() != home) ++*foreign_destroys;
  }
  ShardId home = 0;
  std::atomic<int>* foreign_destroys;
};

// The shutdown race: the work runs on shard 1 while shard 0 (home) closes its mailbox, so the
// continuation cannot be sent back. It must not be destroyed on shard 1's thread.
TEST(RuntimeLifecycleTest, HopContinuationIsNeverDestroyedOnTheTargetWhenHomeHasClosed) {
  Runtime runtime(RuntimeOptions{.shards = 2, .pin = false});
  runtime.Start();
  std::atomic<int> foreign_destroys{0};
  std::atomic<bool> work_started{false};
  std::atomic<bool> home_closed{false};
  std::atomic<bool> continuation_ran{false};
  runtime.SubmitTo(0, [&] {
    HomeAffine handle(&foreign_destroys);
    runtime.Hop(
        1,
        [&] {
          work_started = true;
          Shard& home = runtime.shard(0);
          auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
          while (std::chrono::steady_clock::now() < until) {
            if (!home.Submit([] {})) {  // refused: home's mailbox is closed
              home_closed = true;
              break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
          return 1;
        },
        [&, handle = std::move(handle)](int) { continuation_ran = true; });
  });
  while (!work_started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  runtime.Stop();  // closes shard 0 while shard 1 is still in the work
  EXPECT_TRUE(home_closed) << "the race was not set up: home never closed during the work";
  EXPECT_FALSE(continuation_ran);
  EXPECT_EQ(foreign_destroys.load(), 0) << "the continuation was destroyed on the target shard";
}

TEST(RuntimeLifecycleTest, NeverStartedRuntimeDestroysCleanly) {
  Runtime runtime(RuntimeOptions{.shards = 3});
  EXPECT_EQ(runtime.size(), 3u);
}

TEST(UsableCpusTest, AtLeastOneAndNoMoreThanAllowed) {
  int usable = UsableCpuCount();
  EXPECT_GE(usable, 1);
  EXPECT_LE(usable, static_cast<int>(AllowedCpus().size()));
  Runtime runtime;  // default: one shard per usable CPU
  EXPECT_EQ(static_cast<int>(runtime.size()), usable);
}

}  // namespace
}  // namespace percore::runtime
