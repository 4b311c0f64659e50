#pragma once
// Threading contract: a plain value, set from the command line before the server starts.
//
// How a service keeps its state: off (in memory only, the default: benchmarks and tests) or in
// `data_dir` with a log policy (the server's --data-dir, --fsync, --recover-skip-corrupt,
// --snapshot-every), and how long history is kept (--idempotency-retention).

#include <chrono>
#include <cstdint>
#include <string>

#include "core/durability/fsync_policy.h"
#include "core/durability/snapshot_policy.h"

namespace percore::durability {

struct DurabilityConfig {
  std::string data_dir;  // empty: in memory only
  FsyncPolicy fsync = FsyncPolicy::kEverySec;
  bool skip_corrupt = false;
  // --snapshot-every: per shard, while serving (shard_snapshotter.h).
  SnapshotPolicy snapshot{.every_bytes = uint64_t{64} << 20};
  // --idempotency-retention: how long the idempotency key of a settled order is kept after its
  // last change (services/order/order_options.h); applies in memory too. 0: forever.
  std::chrono::seconds idempotency_retention{std::chrono::hours(24)};
  bool enabled() const { return !data_dir.empty(); }
};

}  // namespace percore::durability
