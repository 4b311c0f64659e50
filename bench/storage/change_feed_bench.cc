// ChangeFeed::Publish with 0, 1, 100 and 1000 whole-partition subscribers (WatchUserUpdates
// watchers without a user_id): the cost a write pays, inline, per event. Writers never wait, so
// this is added to every CreateUser/UpdateUser/DeleteUser latency on the owning shard and
// grows with the number of watchers.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "core/runtime/mailbox.h"
#include "core/storage/change_feed.h"
#include "services/user/user_id.h"

namespace percore::storage {
namespace {

using user::UserId;

// What UserPartition publishes: a serialized user.v1.UserUpdate (~150 bytes for the seed's
// user shape).
struct Event {
  std::string bytes;
  bool deleted = false;
};
using Feed = ChangeFeed<UserId, Event>;

UserId Key(uint64_t i) {
  UserId id;
  for (size_t b = 0; b < 8; ++b) id.bytes[15 - b] = static_cast<uint8_t>(i >> (8 * b));
  return id;
}

void ReportDeliveries(benchmark::State& state, int64_t subscribers) {
  state.SetItemsProcessed(state.iterations());
  state.counters["deliveries_per_second"] = benchmark::Counter(
      static_cast<double>(state.iterations() * subscribers), benchmark::Counter::kIsRate);
}

// Sinks that only count: the feed's own fan-out cost (one std::function call per subscriber).
void BM_ChangeFeed_Publish(benchmark::State& state) {
  const int64_t subscribers = state.range(0);
  Feed feed;
  uint64_t delivered = 0;
  for (int64_t s = 0; s < subscribers; ++s) {
    feed.SubscribeAll([&delivered](const UserId&, uint64_t, const Event&) { ++delivered; });
  }
  const Event event{std::string(150, 'e')};
  uint64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(feed.Publish(Key(i++), event));
  benchmark::DoNotOptimize(delivered);
  ReportDeliveries(state, subscribers);
}
BENCHMARK(BM_ChangeFeed_Publish)->Arg(0)->Arg(1)->Arg(100)->Arg(1000);

// Sinks shaped like UserHandler's before per-shard fan-out (bench/user/watch_fan_out_bench.cc
// measures the current shape): each copies the event into a task and pushes it to a
// mailbox (here every watcher's shard is one Mailbox, drained after each event, drain
// included). This is the full CPU price of an event per watcher: a string copy, a task
// allocation, a push, and running and freeing the task.
void BM_ChangeFeed_PublishToMailbox(benchmark::State& state) {
  const int64_t subscribers = state.range(0);
  Feed feed;
  runtime::Mailbox mailbox([] {});
  uint64_t delivered = 0;
  for (int64_t s = 0; s < subscribers; ++s) {
    feed.SubscribeAll([&](const UserId&, uint64_t, const Event& event) {
      mailbox.Push(runtime::MakeTask([&delivered, event]() mutable {
        Event owned = std::move(event);
        delivered += owned.bytes.size();
      }));
    });
  }
  const Event event{std::string(150, 'e')};
  uint64_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(feed.Publish(Key(i++), event));
    mailbox.Drain(SIZE_MAX);
  }
  benchmark::DoNotOptimize(delivered);
  ReportDeliveries(state, subscribers);
}
BENCHMARK(BM_ChangeFeed_PublishToMailbox)->Arg(1)->Arg(100)->Arg(1000);

}  // namespace
}  // namespace percore::storage
