#pragma once
// Threading contract: InstallPlacement() once on the control thread before any shard starts (or
// never: a single process is partition 0 of 1 and owns every key); ProcessPlacement() and
// OwnsKey() from any thread afterwards (read-only).
//
// Where this process sits in its cluster: P partitions, this process serving partition `self`,
// and each partition's member address (static membership: index = partition). It is the one
// process-wide value of percore because ids are drawn in every service (users, orders, payments,
// reservations) and each must land on a key this process owns, exactly as it lands on the
// drawing shard: id generators ask OwnsKey(candidate) next to ShardFor(candidate) == here, so an
// id names its partition and its shard and any member finds its owner without a directory.

#include <string>
#include <string_view>
#include <vector>

#include "core/cluster/partition_for.h"

namespace percore::cluster {

struct ClusterPlacement {
  size_t partitions = 1;
  PartitionId self = 0;
  std::vector<std::string> members;  // HOST:PORT by partition; empty for a single process

  bool clustered() const { return partitions > 1; }
  PartitionId OwnerOf(std::string_view key) const { return PartitionFor(key, partitions); }
  bool Owns(std::string_view key) const { return OwnerOf(key) == self; }
};

// Sets this process's placement (before the shards start; later calls are a bug).
void InstallPlacement(ClusterPlacement placement);
const ClusterPlacement& ProcessPlacement();

// Whether this process's partition owns `key` (always true outside a cluster).
inline bool OwnsKey(std::string_view key) { return ProcessPlacement().Owns(key); }

}  // namespace percore::cluster
