// PartitionFor: the one name for "which partition of the cluster owns this key".
//
// Threading contract: a pure function; callable from any thread.
//
// One level above runtime::ShardFor (which process, not which core). Both start from the same
// stable hash (storage::StableHash64, pinned like a wire format), but the partition re-mixes it
// with its own salt first: with `StableHash64(key) % partitions` and `% shards` alike, P = S = 2
// would give partition 0 only shard 0's keys, leaving half of every process's cores idle. After
// the re-mix the two placements are independent (tests/core/cluster/partition_for_test.cc counts
// keys per (partition, shard) cell). Changing this function moves every key of every cluster.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/storage/partition_of.h"

namespace percore::cluster {

using PartitionId = uint32_t;

inline constexpr uint64_t kPartitionSalt = 0x5bd1e9955bd1e995ULL;

constexpr PartitionId PartitionFor(std::string_view key, size_t partitions) {
  if (partitions <= 1) return 0;
  uint64_t h = storage::internal::Fmix64(storage::StableHash64(key) ^ kPartitionSalt);
  return static_cast<PartitionId>(h % partitions);
}

}  // namespace percore::cluster
