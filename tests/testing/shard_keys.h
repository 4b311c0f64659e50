#pragma once
// Threading contract: pure functions; any thread may call them.
//
// Keys chosen for the shard that will own them, so a test can put data on each shard on purpose
// (and so cover both the local and the cross-shard path). PartitionOf is a fixed, documented
// function, so the choice is the server's own.

#include <cstddef>
#include <string>

#include "core/storage/partition_of.h"

namespace percore::testing {

// The first "<prefix>-<n>" (n = 0, 1, ...) that PartitionOf places on `shard` of `shards`.
inline std::string KeyOnShard(const std::string& prefix, size_t shard, size_t shards) {
  for (int n = 0;; ++n) {
    std::string key = prefix + "-" + std::to_string(n);
    if (storage::PartitionOf(key, shards) == shard) return key;
  }
}

}  // namespace percore::testing
