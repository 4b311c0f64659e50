#pragma once
// Threading contract: Start on the shard's own thread; `slice` runs there only (its tasks and
// timers), so it may touch that shard's stores without a lock.
//
// History kept for a retention period (--idempotency-retention): terminal reservations, payment
// records. Every quarter of the retention (at least 100 ms, at most a minute apart) the shard
// sweeps its store a slice at a time, each slice a task of its own behind the requests in hand,
// so a long sweep never holds the shard. `slice(cutoff)` forgets what changed last before
// `cutoff` (ns since the epoch) in its next slice and says whether more is left.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/durability/store_journal.h"
#include "core/runtime/shard.h"

namespace percore::durability {

// Entries a slice looks at.
inline constexpr size_t kRetentionSlice = 1024;

// Sweeps forever while the shard runs; nothing when `retention` is 0 (kept forever).
void StartRetentionSweep(runtime::Shard& shard, std::chrono::seconds retention,
                         std::function<bool(int64_t cutoff)> slice);

// The same for a store that logs what it forgets: `forget(cutoff, &dropped)` forgets a slice
// (as `slice` above), appending the keys it forgot; each is logged as a `drop_type` record
// (payload: the key). While the log cannot be written, nothing is forgotten until the next sweep.
void StartJournaledRetentionSweep(
    runtime::Shard& shard, std::chrono::seconds retention, StoreJournal& journal,
    uint32_t drop_type,
    std::function<bool(int64_t cutoff, std::vector<std::string>* dropped)> forget);

// Now minus `retention`, in ns since the epoch (the stores' timestamps are wall-clock).
int64_t RetentionCutoff(std::chrono::seconds retention);

}  // namespace percore::durability
