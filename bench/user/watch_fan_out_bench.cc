// Watch fan-out as a write pays it on the shard that owns the user: UserPartition::Store with
// `watchers` whole-partition watchers spread over `shards` watching shards (each shard one
// Mailbox, drained after every event, running the delivery tasks included). What this leaves
// out is the gRPC write each watcher's stream then makes. Args: watchers, watching shards.

#include <benchmark/benchmark.h>
#include <google/protobuf/util/time_util.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/runtime/mailbox.h"
#include "services/user/user_partition.h"

namespace percore::user {
namespace {

v1::User SeedUser(const UserId& id) {
  v1::User user;
  user.set_id(id.ToString());
  user.set_name("User 123456");
  user.set_email("user123456@example.com");
  user.add_roles("member");
  *user.mutable_created_at() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(1'700'000'000'123'456'789);
  *user.mutable_updated_at() = user.created_at();
  return user;
}

struct Fixture {
  Fixture(int64_t shards) {
    for (int64_t s = 0; s < shards; ++s) {
      mailboxes.push_back(std::make_unique<runtime::Mailbox>([] {}));
    }
  }
  void DrainAll() {
    for (auto& mailbox : mailboxes) mailbox->Drain(SIZE_MAX);
  }
  std::vector<std::unique_ptr<runtime::Mailbox>> mailboxes;
  uint64_t delivered = 0;
  UserPartition partition;
  UserIdGenerator ids{1};
  UserId id = ids.Next(1'700'000'000'123'456'789, [](const UserId&) { return true; });
  v1::User user = SeedUser(id);
};

void Report(benchmark::State& state, int64_t watchers) {
  state.SetItemsProcessed(state.iterations());
  state.counters["deliveries_per_second"] = benchmark::Counter(
      static_cast<double>(state.iterations() * watchers), benchmark::Counter::kIsRate);
}

// What UserHandler does: each watcher's sink notes its address in the partition's outbox, and
// after the write each watching shard gets one task with the shared event and its watch ids.
void BM_WatchFanOut_PerShardTask(benchmark::State& state) {
  const int64_t watchers = state.range(0);
  Fixture f(state.range(1));
  f.partition.outbox().set_send(
      [&f](runtime::ShardId shard, SharedUserEvent event, std::vector<uint64_t> ids) {
        f.mailboxes[shard]->Push(
            runtime::MakeTask([&f, event = std::move(event), ids = std::move(ids)] {
              for (uint64_t id : ids) f.delivered += id + event->bytes.size();
            }));
      });
  for (int64_t w = 0; w < watchers; ++w) {
    auto shard = static_cast<runtime::ShardId>(w % state.range(1));
    f.partition.feed().SubscribeAll(f.partition.outbox().SinkFor(shard, w));
  }
  for (auto _ : state) {
    f.partition.Store(f.id, f.user, v1::UserUpdate::UPDATE_TYPE_UPDATED);
    f.DrainAll();
  }
  benchmark::DoNotOptimize(f.delivered);
  Report(state, watchers);
}
BENCHMARK(BM_WatchFanOut_PerShardTask)
    ->Args({1, 1})
    ->Args({1000, 1})
    ->Args({1000, 2})
    ->Args({1000, 4});

// The shape it replaced, for comparison in the same run: each watcher's sink pushes its own
// task with its own copy of the event bytes.
void BM_WatchFanOut_PerWatcherTask(benchmark::State& state) {
  const int64_t watchers = state.range(0);
  Fixture f(state.range(1));
  for (int64_t w = 0; w < watchers; ++w) {
    runtime::Mailbox* mailbox = f.mailboxes[w % state.range(1)].get();
    f.partition.feed().SubscribeAll(
        [mailbox, &f](const UserId&, uint64_t, const SharedUserEvent& event) {
          std::string bytes(event->bytes.view());
          mailbox->Push(runtime::MakeTask([&f, bytes = std::move(bytes)]() mutable {
            std::string owned = std::move(bytes);
            f.delivered += owned.size();
          }));
        });
  }
  for (auto _ : state) {
    f.partition.Store(f.id, f.user, v1::UserUpdate::UPDATE_TYPE_UPDATED);
    f.DrainAll();
  }
  benchmark::DoNotOptimize(f.delivered);
  Report(state, watchers);
}
BENCHMARK(BM_WatchFanOut_PerWatcherTask)->Args({1000, 1})->Args({1000, 2});

}  // namespace
}  // namespace percore::user
