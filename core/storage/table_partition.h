// TablePartition: the ordered rows of one partition of a table.
//
// Threading contract: single-threaded, no locks. A partition belongs to exactly one shard; only
// that shard's thread calls it (the runtime guarantees this by routing every operation on a key
// to the shard that PartitionOf(key) names). Other shards reach it only by sending a task to
// the owning shard and must copy what they need out of it: pointers returned by Get() and the
// references passed to a ScanAfter() callback are valid only until the next mutation of this
// partition, and only on the owning thread.
//
// Memory: the rows live in `Rows`, std::map by default: one node per entry, a 32-byte
// red-black header (libstdc++) plus the (Key, Value) pair, rounded up to the allocator's size
// class (a 16-byte key and an 8-byte CompactBlob: a 64-byte node). BTreeTablePartition keeps
// them in absl::btree_map instead: the pairs side by side in 256-byte nodes, about 26 bytes per
// row for the same pair when keys arrive nearly in order (UUIDv7 ids do), ~35 in random order.
// What std::map gives that the B-tree does not: references that survive other rows' inserts and
// erases (the contract below promises them only until the next mutation, so callers that keep
// it may use either) and no moving of values on insert (cheap for a CompactBlob, not for a
// protobuf row). With a CompactBlob row, leave the key out of the stored bytes (README.md).
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/btree_map.h"

namespace percore::storage {

// Key: the row key, ordered by Compare (ascending means ascending under Compare).
// Value: may be move-only (e.g. CompactBlob); it is never copied by the table.
// Compare: a transparent comparator (the default std::less<>) enables Get/Erase/ScanAfter with
// any type comparable with Key, e.g. std::string_view for std::string keys, without building
// a temporary Key.
// Rows: an ordered map with std::map's interface (std::map or absl::btree_map; see Memory).
template <class Key, class Value, class Compare = std::less<>,
          class Rows = std::map<Key, Value, Compare>>
class TablePartition {
 public:
  using key_type = Key;
  using mapped_type = Value;

  TablePartition() = default;
  explicit TablePartition(Compare compare) : rows_(std::move(compare)) {}
  TablePartition(TablePartition&&) noexcept = default;
  TablePartition& operator=(TablePartition&&) noexcept = default;
  TablePartition(const TablePartition&) = delete;
  TablePartition& operator=(const TablePartition&) = delete;

  // The row stored under `key`, or nullptr. Valid until the next mutation of this partition.
  template <class K>
  const Value* Get(const K& key) const {
    auto it = rows_.find(key);
    return it == rows_.end() ? nullptr : &it->second;
  }

  // The row stored under `key`, to change in place, or nullptr. Valid as Get()'s. Not for
  // tables whose bytes the partition counts: a byte string's size changes only through Put.
  template <class K>
  Value* GetMutable(const K& key) {
    static_assert(!kCountsBytes, "a counted byte string changes only through Put");
    auto it = rows_.find(key);
    return it == rows_.end() ? nullptr : &it->second;
  }

  // Stores `value` under `key`, replacing any previous value. Returns true if the key was new,
  // false if an existing value was replaced.
  bool Put(Key key, Value value) {
    if constexpr (kCountsBytes) bytes_ += value.size();
    auto [it, inserted] = rows_.try_emplace(std::move(key), std::move(value));
    if (!inserted) {
      if constexpr (kCountsBytes) bytes_ -= it->second.size();
      it->second = std::move(value);
    }
    return inserted;
  }

  // Removes `key`. Returns false if it was not present.
  template <class K>
  bool Erase(const K& key) {
    auto it = rows_.find(key);
    if (it == rows_.end()) return false;
    if constexpr (kCountsBytes) bytes_ -= it->second.size();
    rows_.erase(it);
    return true;
  }

  size_t size() const { return rows_.size(); }
  // The rows' stored bytes (their values' size(), for tables of byte strings: std::string or
  // CompactBlob; 0 for other value types): kept by Put and Erase with one plain
  // add each, so /metrics reads it without walking the rows.
  size_t bytes() const { return bytes_; }
  bool empty() const { return rows_.empty(); }

  // Calls fn(const Key&, const Value&) for up to `limit` rows whose key is strictly greater
  // than *after (all rows if after is nullptr), in ascending order, and returns how many it
  // visited. `after` need not be present: a cursor naming a row deleted since the previous
  // page continues at the next larger key, which is what makes paging stable under writes
  // (no row is seen twice, and no row that existed for the whole walk is skipped).
  // K is Key or, with a transparent Compare, any type comparable with it (e.g. a
  // std::string_view decoded from a page token). fn must not mutate this partition.
  template <class K, class Fn>
  size_t ScanAfter(const K* after, size_t limit, Fn&& fn) const {
    return ScanFrom(after == nullptr ? rows_.begin() : rows_.upper_bound(*after), limit, fn);
  }

  // ScanAfter(nullptr, limit, fn): from the first row.
  template <class Fn>
  size_t ScanAfter(std::nullptr_t, size_t limit, Fn&& fn) const {
    return ScanFrom(rows_.begin(), limit, fn);
  }

 private:
  using Map = Rows;
  // Byte strings only (std::string, CompactBlob's view()): a vector's size() is no byte count.
  static constexpr bool kCountsBytes =
      std::same_as<Value, std::string> || requires(const Value& v) {
    { v.view() } -> std::convertible_to<std::string_view>;
    { v.size() } -> std::convertible_to<size_t>;
  };

  template <class Fn>
  size_t ScanFrom(typename Map::const_iterator it, size_t limit, Fn& fn) const {
    size_t visited = 0;
    for (; visited < limit && it != rows_.end(); ++it, ++visited) {
      std::invoke(fn, it->first, std::as_const(it->second));
    }
    return visited;
  }

  Map rows_;
  size_t bytes_ = 0;  // see bytes()
};

// The same table in a B-tree: about 40 bytes less per row than std::map's node for a small
// (key, value) pair; values move on inserts and erases of other rows.
template <class Key, class Value, class Compare = std::less<>>
using BTreeTablePartition =
    TablePartition<Key, Value, Compare, absl::btree_map<Key, Value, Compare>>;

}  // namespace percore::storage
