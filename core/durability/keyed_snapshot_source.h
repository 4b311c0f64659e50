#pragma once
// Threading contract: used only on the shard that owns the store (the snapshotter's steps run
// there, between requests).
//
// A SnapshotSource (shard_snapshotter.h) for a store of a few ordered tables ("parts"), each
// walked by a string key cursor: part 0 from its first key, then part 1, and so on. Entries added
// or removed between chunks never make the pass skip or repeat one that stayed. The store says
// how to write up to kRowsPerScan entries of a part after a key (ScanPart); this class keeps the
// cursor. Used by inventory and payments.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/durability/shard_snapshotter.h"

namespace percore::durability {

class KeyedSnapshotSource : public SnapshotSource {
 public:
  explicit KeyedSnapshotSource(size_t parts) : parts_(parts) {}

  void Restart() final;
  bool Next(std::string& out, uint64_t& records, size_t budget) final;

  static constexpr size_t kRowsPerScan = 32;

  // Up to `limit` entries of an ordered map after `after` (from the first when nullptr):
  // fn(key, value) each, `*last` the last key; how many.
  template <class Map, class Fn>
  static size_t ScanMap(const Map& map, const std::string* after, size_t limit, std::string* last,
                        Fn&& fn) {
    auto it = after == nullptr ? map.begin() : map.upper_bound(*after);
    size_t seen = 0;
    for (; it != map.end() && seen < limit; ++it, ++seen) {
      fn(it->first, it->second);
      *last = it->first;
    }
    return seen;
  }

 protected:
  // Appends the records of up to kRowsPerScan entries of `part` after `after` (from its first
  // when nullptr), adding their count to `records`; sets `*last` to the last key seen (an entry
  // seen may write no record). Returns how many entries were seen.
  virtual size_t ScanPart(size_t part, const std::string* after, std::string& out,
                          uint64_t& records, std::string* last) = 0;

 private:
  const size_t parts_;
  size_t part_ = 0;
  bool started_ = false;  // whether `cursor_` holds a key of the current part
  std::string cursor_;    // the last key seen in the current part
};

}  // namespace percore::durability
