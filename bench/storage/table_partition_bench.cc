// BTreeTablePartition<UserId, CompactBlob>, exactly as UserPartition instantiates it: Get, Put,
// Erase and ScanAfter over a partition of 1M rows (16-byte UUIDv7 keys, 110-byte rows). These are
// the in-shard cost of GetUser, CreateUser/UpdateUser, DeleteUser and one shard's ListUsers run; at
// 1M rows the std::map no longer fits in cache, so Get is a chain of ~20 cache misses.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/storage/compact_blob.h"
#include "core/storage/table_partition.h"
#include "services/user/user_id.h"

namespace percore::storage {
namespace {

using user::UserId;
using Table = BTreeTablePartition<UserId, CompactBlob>;

constexpr size_t kMillion = 1 << 20;
constexpr size_t kRowBytes = 110;  // a serialized seed-shape user without its id field
constexpr int64_t kStartNanos = 1'700'000'000'000'000'000;
constexpr int64_t kHourNanos = 3'600'000'000'000;

// Ids as the service makes them: UUIDv7, ascending in creation order, one per microsecond.
std::vector<UserId> MakeIds(size_t n, int64_t start_nanos, uint64_t seed) {
  user::UserIdGenerator generator(seed);
  std::vector<UserId> ids;
  ids.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    ids.push_back(generator.Next(start_nanos + static_cast<int64_t>(i) * 1000,
                                 [](const UserId&) { return true; }));
  }
  return ids;
}

CompactBlob Row() { return CompactBlob::CopyOf(std::string(kRowBytes, 'r')); }

// A partition of `rows` rows and its keys in random order, built once per size and shared by
// every benchmark (the mutating ones put it back as they found it).
struct Loaded {
  Table table;
  std::vector<UserId> shuffled;
};

Loaded& Partition(size_t rows) {
  static std::map<size_t, Loaded> built;
  auto [it, inserted] = built.try_emplace(rows);
  if (inserted) {
    std::vector<UserId> ids = MakeIds(rows, kStartNanos, 42);
    for (const UserId& id : ids) it->second.table.Put(id, Row());
    std::shuffle(ids.begin(), ids.end(), std::mt19937_64(7));
    it->second.shuffled = std::move(ids);
  }
  return it->second;
}

// A hit on a random existing row (GetUser on the owner shard).
void BM_TablePartition_Get(benchmark::State& state) {
  Loaded& p = Partition(static_cast<size_t>(state.range(0)));
  size_t i = 0;
  for (auto _ : state) {
    const CompactBlob* row = p.table.Get(p.shuffled[i]);
    benchmark::DoNotOptimize(row);
    if (++i == p.shuffled.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TablePartition_Get)->Arg(1 << 10)->Arg(kMillion);

// Inserting a new row, with a newer id than every stored one (CreateUser), including the
// 110-byte CompactBlob copy the service makes. Every 64K puts the new rows are erased again
// (untimed), so the partition stays at 1M rows.
void BM_TablePartition_PutNew(benchmark::State& state) {
  constexpr size_t kBatch = 1 << 16;
  Loaded& p = Partition(kMillion);
  const std::string row(kRowBytes, 'n');
  std::vector<UserId> fresh = MakeIds(kBatch, kStartNanos + kHourNanos, 43);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(p.table.Put(fresh[i], CompactBlob::CopyOf(row)));
    if (++i == kBatch) {
      state.PauseTiming();
      for (const UserId& id : fresh) p.table.Erase(id);
      i = 0;
      state.ResumeTiming();
    }
  }
  for (size_t j = 0; j < i; ++j) p.table.Erase(fresh[j]);  // after the loop: untimed
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TablePartition_PutNew);

// Replacing the row of a random existing id (UpdateUser): lookup, new blob, free the old one.
void BM_TablePartition_PutReplace(benchmark::State& state) {
  Loaded& p = Partition(kMillion);
  const std::string row(kRowBytes, 'u');
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(p.table.Put(p.shuffled[i], CompactBlob::CopyOf(row)));
    if (++i == p.shuffled.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TablePartition_PutReplace);

// Erasing a random existing row (DeleteUser). Every 64K erases the rows are put back (untimed).
void BM_TablePartition_Erase(benchmark::State& state) {
  constexpr size_t kBatch = 1 << 16;
  Loaded& p = Partition(kMillion);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(p.table.Erase(p.shuffled[i]));
    if (++i == kBatch) {
      state.PauseTiming();
      for (size_t j = 0; j < kBatch; ++j) p.table.Put(p.shuffled[j], Row());
      i = 0;
      state.ResumeTiming();
    }
  }
  for (size_t j = 0; j < i; ++j) p.table.Put(p.shuffled[j], Row());  // after the loop: untimed
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TablePartition_Erase);

// One page of state.range(0) rows after a random cursor (one shard's ListUsers run), reading
// each row's size so the blob itself is touched, as copying it out would. Items are rows.
void BM_TablePartition_ScanAfter(benchmark::State& state) {
  Loaded& p = Partition(kMillion);
  const size_t limit = static_cast<size_t>(state.range(0));
  size_t i = 0;
  size_t rows = 0;
  for (auto _ : state) {
    size_t bytes = 0;
    rows +=
        p.table.ScanAfter(&p.shuffled[i], limit,
                          [&bytes](const UserId&, const CompactBlob& row) { bytes += row.size(); });
    benchmark::DoNotOptimize(bytes);
    if (++i == p.shuffled.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(rows));
}
BENCHMARK(BM_TablePartition_ScanAfter)->Arg(100)->Arg(1000);

}  // namespace
}  // namespace percore::storage

// The one main() of storage_bench (the other *_bench.cc files register into it).
BENCHMARK_MAIN();
