// ShardFor: the one name for "which shard owns this key".
//
// Threading contract: a pure function; callable from any thread.
//
// Keys are placed by storage::PartitionOf's stable hash, the same in every process and build, so
// a client, a gateway or a test can compute the owner independently (and so ids that percore
// draws to land on a shard keep landing there after a restart with the same shard count).
#pragma once

#include <cstddef>
#include <string_view>

#include "core/runtime/shard.h"
#include "core/storage/partition_of.h"

namespace percore::runtime {

inline ShardId ShardFor(std::string_view key, size_t shards) {
  return static_cast<ShardId>(storage::PartitionOf(key, shards));
}

}  // namespace percore::runtime
