#pragma once
// Threading contract: a plain value, set from the command line before the server starts.
//
// When a shard snapshots its part of a store while serving (--snapshot-every): once its log has
// grown by `every_bytes` since the last cut, or `every` has passed with something logged since.
// Both zero: never while serving (recovery still writes one snapshot per shard at every start).

#include <chrono>
#include <cstdint>
#include <string>

#include "core/base/result.h"

namespace percore::durability {

struct SnapshotPolicy {
  uint64_t every_bytes = 0;
  std::chrono::milliseconds every{0};
  bool enabled() const { return every_bytes > 0 || every.count() > 0; }
};

// "64MiB", "512KiB", "1GiB", "4096" (bytes), "30s", "500ms", "0" / "off" (never).
// INVALID_ARGUMENT naming the value otherwise.
Result<SnapshotPolicy> ParseSnapshotEvery(const std::string& text);

}  // namespace percore::durability
