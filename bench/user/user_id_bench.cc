// UserId text conversions and UserIdGenerator::Next. ToString runs for every user served by
// GetUser/ListUsers (the id field is rebuilt in front of each stored row) and Parse for every
// request naming an id; Next runs once per CreateUser, drawing ids until one hashes to the
// creating shard, so its cost grows with the shard count.

#include <benchmark/benchmark.h>

#include <string>

#include "core/storage/partition_of.h"
#include "services/user/user_id.h"

namespace percore::user {
namespace {

constexpr int64_t kNow = 1'700'000'000'123'456'789;

UserId AnId() {
  UserIdGenerator ids(1);
  return ids.Next(kNow, [](const UserId&) { return true; });
}

void BM_UserId_ToString(benchmark::State& state) {
  const UserId id = AnId();
  for (auto _ : state) {
    std::string text = id.ToString();
    benchmark::DoNotOptimize(text.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UserId_ToString);

void BM_UserId_Parse(benchmark::State& state) {
  const std::string text = AnId().ToString();
  for (auto _ : state) benchmark::DoNotOptimize(UserId::Parse(text));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UserId_Parse);

// Next() on shard 0 of state.range(0) shards: accepts an id only if PartitionOf names shard 0
// (what CreateUser does), so it draws state.range(0) ids on average.
void BM_UserIdGenerator_Next(benchmark::State& state) {
  const size_t shards = static_cast<size_t>(state.range(0));
  UserIdGenerator ids(7);
  int64_t now = kNow;
  for (auto _ : state) {
    UserId id = ids.Next(now += 1000, [shards](const UserId& candidate) {
      return storage::PartitionOf(candidate.view(), shards) == 0;
    });
    benchmark::DoNotOptimize(id);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UserIdGenerator_Next)->Arg(1)->Arg(2)->Arg(8)->Arg(64);

}  // namespace
}  // namespace percore::user
