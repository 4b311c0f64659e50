// MergeSortedRuns: the k-way merge that turns each shard's run of page_size + 1 rows into one
// ListUsers page, for 2 and 8 shards. It runs on the gathering shard once per page, so its
// cost per row is added to every ListUsers call.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "core/storage/compact_blob.h"
#include "core/storage/merge_cursor.h"
#include "services/user/user_id.h"

namespace percore::storage {
namespace {

using user::UserId;

// A run item as the service moves it: a key and its row bytes (a pointer, cheap to move).
struct Item {
  UserId id;
  CompactBlob row;
};
using Runs = std::vector<std::vector<Item>>;

// `shards` ascending runs of limit + 1 items each, ids dealt to runs at random (hash
// partitioning scatters consecutive ids over shards).
Runs MakeRuns(size_t shards, size_t limit, std::mt19937_64& rng) {
  std::vector<UserId> ids(shards * (limit + 1));
  for (UserId& id : ids) {
    for (auto& b : id.bytes) b = static_cast<uint8_t>(rng());
  }
  std::sort(ids.begin(), ids.end());
  Runs runs(shards);
  size_t next = 0;
  for (const UserId& id : ids) {
    while (runs[next].size() == limit + 1) next = (next + 1) % shards;
    runs[next].push_back(Item{id, CompactBlob::CopyOf("row")});
    next = rng() % shards;
  }
  return runs;
}

// One page of state.range(1) rows from state.range(0) runs. The runs are consumed (moved
// from), so inputs come from a pool built untimed, and pages are freed untimed too: only the
// merge is measured. Items are returned rows.
void BM_MergeSortedRuns(benchmark::State& state) {
  const size_t shards = static_cast<size_t>(state.range(0));
  const size_t limit = static_cast<size_t>(state.range(1));
  constexpr size_t kPool = 256;
  std::mt19937_64 rng(11);
  std::vector<Runs> pool;
  std::vector<MergedPage<Item>> pages;
  pages.reserve(kPool);
  size_t next = kPool;
  size_t rows = 0;
  for (auto _ : state) {
    if (next == kPool) {
      state.PauseTiming();
      pool.clear();
      pages.clear();
      for (size_t i = 0; i < kPool; ++i) pool.push_back(MakeRuns(shards, limit, rng));
      next = 0;
      state.ResumeTiming();
    }
    MergedPage<Item> page = MergeSortedRuns(
        std::move(pool[next++]), limit, [](const Item& item) -> const UserId& { return item.id; });
    rows += page.items.size();
    pages.push_back(std::move(page));
  }
  state.SetItemsProcessed(static_cast<int64_t>(rows));
}
BENCHMARK(BM_MergeSortedRuns)->Args({2, 100})->Args({8, 100})->Args({8, 1000});

}  // namespace
}  // namespace percore::storage
