// The runtime with real gRPC completion queues: tasks run on the shard they were sent to, hops
// come back to the shard that asked, timers fire in order and can be cancelled, Stop() joins.

#include "core/runtime/runtime.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "core/runtime/usable_cpus.h"

namespace percore::runtime {
namespace {

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override { runtime_.Start(); }
  void TearDown() override { runtime_.Stop(); }

  // Runs fn on `shard` and waits for its result.
  template <class Fn>
  auto On(ShardId shard, Fn fn) {
    std::promise<decltype(fn())> done;
    auto future = done.get_future();
    EXPECT_TRUE(runtime_.SubmitTo(shard, [&] { done.set_value(fn()); }));
    return future.get();
  }

  Runtime runtime_{RuntimeOptions{.shards = 2}};
};

TEST_F(RuntimeTest, SubmitToRunsOnThatShardsThread) {
  EXPECT_EQ(runtime_.size(), 2u);
  for (ShardId id = 0; id < 2; ++id) {
    ShardId seen = On(id, [] { return Shard::Current()->id(); });
    EXPECT_EQ(seen, id);
  }
  EXPECT_EQ(Shard::Current(), nullptr);  // the test thread is no shard
}

TEST_F(RuntimeTest, HopRunsWorkOnTargetAndContinuationBackHome) {
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

TEST_F(RuntimeTest, HopToOwnShardRunsInline) {
  std::promise<bool> done;
  runtime_.SubmitTo(1, [&] {
    bool continued = false;
    runtime_.Hop(
        1, [] { return 7; }, [&](int v) { continued = (v == 7); });
    done.set_value(continued);  // already ran, before Hop returned
  });
  EXPECT_TRUE(done.get_future().get());
}

TEST_F(RuntimeTest, RunOnAllReachesEveryShard) {
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

TEST_F(RuntimeTest, TimersFireInDeadlineOrderAndCancelledOnesNever) {
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

TEST_F(RuntimeTest, ManyCrossShardHopsAllComeBack) {
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

TEST(RuntimeLifecycleTest, StopIsIdempotentAndSubmitAfterStopIsRefused) {
  Runtime runtime(RuntimeOptions{.shards = 2});
  runtime.Start();
  runtime.Stop();
  runtime.Stop();
  EXPECT_FALSE(runtime.SubmitTo(0, [] {}));
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
