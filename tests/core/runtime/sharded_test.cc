// Sharded<T> on a real runtime: each shard's T is used on its own thread, InvokeOn runs on the
// owner and answers on the caller, MapReduce folds every shard's answer once, ShardFor is the
// stable key placement.

#include "core/runtime/sharded.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/testing/run_on_shard.h"

namespace percore::runtime {
namespace {

// A per-shard object that remembers which thread built it, to prove where it is used.
struct Counter {
  explicit Counter(ShardId shard) : shard(shard), thread(std::this_thread::get_id()) {}
  ShardId shard;
  std::thread::id thread;
  int hits = 0;
};

class ShardedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime_.Start();
    counters_.SetShardCount(runtime_.size());
    std::vector<std::future<void>> built;
    for (ShardId s = 0; s < runtime_.size(); ++s) {
      auto done = std::make_shared<std::promise<void>>();
      built.push_back(done->get_future());
      runtime_.SubmitTo(s, [this, s, done] {
        counters_.Emplace(runtime_.shard(s), std::make_unique<Counter>(s));
        done->set_value();
      });
    }
    for (auto& f : built) f.get();
  }
  void TearDown() override { runtime_.Stop(); }

  // Runs fn on `shard` and waits for its result.
  template <class Fn>
  auto On(ShardId shard, Fn fn) {
    return testing::RunOnShard(runtime_, shard, std::move(fn));
  }

  Runtime runtime_{RuntimeOptions{.shards = 3, .pin = false}};
  Sharded<Counter> counters_;
};

TEST_F(ShardedTest, LocalIsTheCallingShardsOwnInstance) {
  for (ShardId s = 0; s < 3; ++s) {
    Counter* counter = On(s, [&] { return &counters_.local(); });
    EXPECT_EQ(counter->shard, s);
  }
}

TEST_F(ShardedTest, InvokeOnRunsOnTheOwnerAndAnswersOnTheCaller) {
  struct Seen {
    ShardId ran_on;
    bool right_thread;
    ShardId answered_on;
  };
  std::promise<Seen> done;
  runtime_.SubmitTo(0, [&] {
    counters_.InvokeOn(
        2,
        [](Counter& c) {
          ++c.hits;
          return std::make_pair(c.shard, c.thread == std::this_thread::get_id());
        },
        [&](std::pair<ShardId, bool> where) {
          done.set_value({where.first, where.second, Shard::Current()->id()});
        });
  });
  Seen seen = done.get_future().get();
  EXPECT_EQ(seen.ran_on, 2u);
  EXPECT_TRUE(seen.right_thread);
  EXPECT_EQ(seen.answered_on, 0u);
  EXPECT_EQ(On(2, [&] { return counters_.local().hits; }), 1);
}

// The answer may come from a later task on the owner (a log record becoming durable): it still
// reaches the caller once, on the caller's shard.
TEST_F(ShardedTest, InvokeOnAsyncAnswersLaterOnTheCaller) {
  for (ShardId owner : {ShardId{2}, ShardId{0}}) {
    std::promise<std::pair<int, ShardId>> done;
    runtime_.SubmitTo(0, [&] {
      counters_.InvokeOnAsync<int>(
          owner,
          [](Counter& c, auto reply) {
            ++c.hits;
            // Answer from a later task on the owner, as a durability callback would; a second
            // reply is ignored.
            Shard::Current()->Submit([reply, shard = c.shard]() mutable {
              EXPECT_EQ(Shard::Current()->id(), shard);
              reply(static_cast<int>(shard) * 10);
              reply(-1);
            });
          },
          [&](int value) {
            done.set_value({value, Shard::Current()->id()});
          });
    });
    auto [value, answered_on] = done.get_future().get();
    EXPECT_EQ(value, static_cast<int>(owner) * 10);
    EXPECT_EQ(answered_on, 0u);
  }
}

TEST_F(ShardedTest, InvokeOnTheCallingShardRunsInline) {
  bool inline_answer = On(1, [&] {
    bool answered = false;
    counters_.InvokeOn(
        1, [](Counter& c) { return c.shard; }, [&](ShardId s) { answered = (s == 1); });
    return answered;  // both ran before InvokeOn returned
  });
  EXPECT_TRUE(inline_answer);
}

TEST_F(ShardedTest, MapReduceFoldsEveryShardOnceOnTheCaller) {
  std::promise<std::pair<std::vector<ShardId>, ShardId>> done;
  runtime_.SubmitTo(1, [&] {
    counters_.MapReduce([](Counter& c) { return c.shard; }, std::vector<ShardId>{},
                        [](std::vector<ShardId>& all, ShardId s) {
                          EXPECT_EQ(Shard::Current()->id(), 1u);  // folded on the caller
                          all.push_back(s);
                        },
                        [&](std::vector<ShardId> all) {
                          done.set_value({all, Shard::Current()->id()});
                        });
  });
  auto [all, answered_on] = done.get_future().get();
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<ShardId>{0, 1, 2}));
  EXPECT_EQ(answered_on, 1u);
}

TEST_F(ShardedTest, InvokeOnAllRunsOnEveryShardThenContinues) {
  std::promise<void> done;
  runtime_.SubmitTo(
      0, [&] { counters_.InvokeOnAll([](Counter& c) { ++c.hits; }, [&] { done.set_value(); }); });
  done.get_future().get();
  for (ShardId s = 0; s < 3; ++s) EXPECT_EQ(On(s, [&] { return counters_.local().hits; }), 1);
}

TEST(ShardForTest, IsTheStablePartitionOfTheKey) {
  EXPECT_EQ(ShardFor("anything", 1), 0u);
  for (const char* key : {"a@example.com", "0190a6f2-0000-7000-8000-000000000000", "SKU-1"}) {
    EXPECT_EQ(ShardFor(key, 4), storage::PartitionOf(key, 4)) << key;
    EXPECT_LT(ShardFor(key, 4), 4u);
  }
  Sharded<Counter> unplaced;
  unplaced.SetShardCount(4);
  EXPECT_EQ(unplaced.ShardFor("SKU-1"), ShardFor("SKU-1", 4));
}

}  // namespace
}  // namespace percore::runtime
