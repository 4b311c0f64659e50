#pragma once
// Threading contract: InstallPlacement() on the control thread before any shard starts (or never:
// a single process is partition 0 of 1 and owns every key), and SwitchPlacement() from any thread
// when the cluster grows (cluster.v1.ClusterAdmin/Switch); ProcessPlacement() and the Owns*()
// helpers from any thread. The placement is an immutable value behind an atomic pointer: a reader
// takes the value current at its load and keeps a consistent view for its call; every value
// installed lives as long as the process (a handful per life), so a reference never dangles.
//
// Where this process sits in its cluster: P partitions, this process serving partition `self`,
// and each partition's member address (static membership: index = partition). It is the one
// process-wide value of percore because ids are drawn in every service (users, orders, payments,
// reservations) and each must land on a key this process owns, exactly as it lands on the
// drawing shard: id generators ask OwnsId / OwnsCommerceKey (candidate) next to
// ShardFor(candidate) == here, so an id names its partition and its shard and any member finds
// its owner without a directory.
//
// A cluster that grew (services/cluster/GROWING.md) places keys of three kinds differently:
//   - moving keys (email claims): PartitionFor(key, P now); they were pulled at the switch;
//   - ids (user ids, order ids: UUIDv7): PartitionFor(id, P of the epoch the id's millisecond
//     timestamp falls in), so an id drawn before a switch keeps its owner for good;
//   - commerce keys (SKU, reservation id, idempotency key, transaction id): P₀, the first
//     partition count, forever (stock, holds and ledgers never move).
// Before any growth the three agree: PartitionFor(key, P).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/cluster/partition_for.h"

namespace percore::cluster {

// From `since_ms` (unix ms, inclusive) on, ids are drawn under `partitions`.
struct PlacementEpoch {
  uint64_t since_ms = 0;
  size_t partitions = 1;
};

// How a routed key is placed (route_table.h).
enum class KeyKind { kMoving, kId, kCommerce };

struct ClusterPlacement {
  size_t partitions = 1;  // P now: moving keys, the members, ListUsers' merge, the user watch
  PartitionId self = 0;
  std::vector<std::string> members;  // HOST:PORT by partition; empty for a single process
  // The growth history: P₀ (0: never grown, P₀ = partitions) and each epoch after the first,
  // ascending; the last epoch's count is `partitions`.
  size_t first_partitions = 0;
  std::vector<PlacementEpoch> grown;

  bool clustered() const { return partitions > 1; }
  size_t initial_partitions() const { return first_partitions ? first_partitions : partitions; }
  // The partition count ids drawn at `ms` were drawn under.
  size_t PartitionsAt(uint64_t ms) const;

  PartitionId OwnerOf(std::string_view key) const { return PartitionFor(key, partitions); }
  // `id`: a UUIDv7's 16 bytes (anything shorter is placed as a moving key).
  PartitionId OwnerOfId(std::string_view id) const;
  PartitionId OwnerOfCommerce(std::string_view key) const {
    return PartitionFor(key, initial_partitions());
  }
  PartitionId OwnerOfKind(std::string_view key, KeyKind kind) const;

  bool Owns(std::string_view key) const { return OwnerOf(key) == self; }
  bool OwnsId(std::string_view id) const { return OwnerOfId(id) == self; }
  bool OwnsCommerce(std::string_view key) const { return OwnerOfCommerce(key) == self; }
};

// The unix ms of a UUIDv7's 16 bytes (its first 48 bits).
uint64_t UuidV7Millis(std::string_view id);

// Sets this process's placement (before the shards start).
void InstallPlacement(ClusterPlacement placement);
// Replaces it while serving (a grown cluster's switch): later loads see `placement`.
void SwitchPlacement(ClusterPlacement placement);
const ClusterPlacement& ProcessPlacement();

// Whether this process's partition owns `key` (always true outside a cluster).
inline bool OwnsKey(std::string_view key) { return ProcessPlacement().Owns(key); }
inline bool OwnsId(std::string_view id) { return ProcessPlacement().OwnsId(id); }
inline bool OwnsCommerceKey(std::string_view key) { return ProcessPlacement().OwnsCommerce(key); }

}  // namespace percore::cluster
