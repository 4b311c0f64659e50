// MergeSortedRuns: one globally ordered page out of per-partition pages.
//
// Threading contract: a pure function over values it owns; call it on the shard that gathers
// the answers (the runs were copied out of their partitions by each owning shard).
//
// How ListUsers pages across shards: the gathering shard sends each shard "up to limit + 1
// rows after cursor" (TablePartition::ScanAfter), moves the answers here, and gets back the
// `limit` smallest rows plus whether anything remains. The +1 is what makes `more` exact: a
// shard that had only `limit` rows to give cannot leave anything unsaid, and one that had more
// shows it by the extra row. The next cursor is the key of the last returned item; because
// partitions hold disjoint keys, no row is ever lost between pages.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

namespace percore::storage {

template <class Item>
struct MergedPage {
  // The smallest `limit` items of all runs, ascending.
  std::vector<Item> items;
  // True if at least one run held an item beyond those returned, i.e. another page follows.
  bool more = false;
};

// Merges ascending `runs` (each sorted by key_of under compare) and returns the first `limit`
// items overall in ascending order. Items with equal keys come out in run order, then in their
// order within the run. Items are moved, never copied, so they may be move-only.
//
// key_of(const Item&) returns the item's key (preferably a const reference or a view, since it
// is called O(log k) times per item). Cost: O(limit * log k) for k non-empty runs.
template <class Item, class KeyOf, class Compare = std::less<>>
MergedPage<Item> MergeSortedRuns(std::vector<std::vector<Item>> runs, size_t limit, KeyOf key_of,
                                 Compare compare = {}) {
  // One heap entry per non-empty run: the run and its next unconsumed position.
  struct Head {
    size_t run;
    size_t pos;
  };
  // std::push_heap builds a max-heap, so "greater" puts the smallest head on top; equal keys
  // fall back to the run index, which makes the merge stable across runs.
  auto after = [&](const Head& a, const Head& b) {
    const Item& x = runs[a.run][a.pos];
    const Item& y = runs[b.run][b.pos];
    if (compare(key_of(y), key_of(x))) return true;
    if (compare(key_of(x), key_of(y))) return false;
    return a.run > b.run;
  };

  std::vector<Head> heap;
  heap.reserve(runs.size());
  size_t total = 0;
  for (size_t r = 0; r < runs.size(); ++r) {
#ifndef NDEBUG
    for (size_t i = 1; i < runs[r].size(); ++i) {
      assert(!compare(key_of(runs[r][i]), key_of(runs[r][i - 1])) && "run is not ascending");
    }
#endif
    if (!runs[r].empty()) heap.push_back({r, 0});
    total += runs[r].size();
  }
  std::make_heap(heap.begin(), heap.end(), after);

  MergedPage<Item> page;
  page.items.reserve(std::min(limit, total));
  while (page.items.size() < limit && !heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), after);
    Head& head = heap.back();
    page.items.push_back(std::move(runs[head.run][head.pos]));
    if (++head.pos < runs[head.run].size()) {
      std::push_heap(heap.begin(), heap.end(), after);
    } else {
      heap.pop_back();
    }
  }
  page.more = !heap.empty();
  return page;
}

}  // namespace percore::storage
