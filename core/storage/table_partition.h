// TablePartition: the ordered rows of one partition of a table.
//
// Threading contract: single-threaded, no locks. A partition belongs to exactly one shard; only
// that shard's thread calls it (the runtime guarantees this by routing every operation on a key
// to the shard that PartitionOf(key) names). Other shards reach it only by sending a task to
// the owning shard and must copy what they need out of it: pointers returned by Get() and the
// references passed to a ScanAfter() callback are valid only until the next mutation of this
// partition, and only on the owning thread.
//
// Memory: std::map is one node per entry. With libstdc++ a node is a 32-byte red-black header
// (colour + three pointers) plus the (Key, Value) pair, rounded up to the allocator's size
// class. For the user table with a 36-byte text id as std::string key (32 bytes inline + a
// 48-byte heap block) and a CompactBlob value (8 bytes inline) that is an 80-byte node + 48 +
// the blob's block, i.e. ~130 bytes of overhead before the serialized row itself. A 16-byte
// binary id key would remove the 48-byte block and shrink the node to 64 bytes. A B-tree would
// cut the node cost further; std::map was chosen because it needs no dependency, keeps
// references stable across inserts, and fits the per-user budget (see README.md).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <type_traits>
#include <utility>

namespace percore::storage {

// Key: the row key, ordered by Compare (ascending means ascending under Compare).
// Value: may be move-only (e.g. CompactBlob); it is never copied by the table.
// Compare: a transparent comparator (the default std::less<>) enables Get/Erase/ScanAfter with
// any type comparable with Key, e.g. std::string_view for std::string keys, without building
// a temporary Key.
template <class Key, class Value, class Compare = std::less<>>
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

  // Stores `value` under `key`, replacing any previous value. Returns true if the key was new,
  // false if an existing value was replaced.
  bool Put(Key key, Value value) {
    auto [it, inserted] = rows_.try_emplace(std::move(key), std::move(value));
    if (!inserted) it->second = std::move(value);
    return inserted;
  }

  // Removes `key`. Returns false if it was not present.
  template <class K>
  bool Erase(const K& key) {
    auto it = rows_.find(key);
    if (it == rows_.end()) return false;
    rows_.erase(it);
    return true;
  }

  size_t size() const { return rows_.size(); }
  bool empty() const { return rows_.empty(); }

  // Calls fn(const Key&, const Value&) for up to `limit` rows whose key is strictly greater
  // than *after (all rows if after is nullptr), in ascending order, and returns how many it
  // visited. `after` need not be present: a cursor naming a row deleted since the previous
  // page continues at the next larger key, which is what makes paging stable under writes
  // (no row is seen twice, and no row that existed for the whole walk is skipped).
  // fn must not mutate this partition.
  template <class Fn>
  size_t ScanAfter(const Key* after, size_t limit, Fn&& fn) const {
    return ScanFrom(after == nullptr ? rows_.begin() : rows_.upper_bound(*after), limit, fn);
  }

  // The same with a cursor of another type comparable with Key (needs a transparent Compare),
  // e.g. a std::string_view decoded from a page token.
  template <class K, class Fn>
    requires(!std::is_same_v<std::remove_cv_t<K>, Key>)
  size_t ScanAfter(const K* after, size_t limit, Fn&& fn) const {
    return ScanFrom(after == nullptr ? rows_.begin() : rows_.upper_bound(*after), limit, fn);
  }

 private:
  using Map = std::map<Key, Value, Compare>;

  template <class Fn>
  size_t ScanFrom(typename Map::const_iterator it, size_t limit, Fn& fn) const {
    size_t visited = 0;
    for (; visited < limit && it != rows_.end(); ++it, ++visited) {
      std::invoke(fn, it->first, std::as_const(it->second));
    }
    return visited;
  }

  Map rows_;
};

}  // namespace percore::storage
