#pragma once
// Threading contract: Start, SnapshotNow and the accessors on the owning shard's thread only;
// the snapshotter's steps run there too (tasks and timers of that shard). The store's
// SnapshotSource is called only from those steps.
//
// Snapshots one shard's part of a store while it serves (no fork, no stop of the other shards,
// no lock): when the policy says so (snapshot_policy.h), it cuts the shard's log
// (ShardLog::BeginSnapshot: later records go to a new segment), then serializes the store's rows
// a chunk at a time, each chunk a task of its own queued behind the requests that arrived
// meanwhile, and hands each chunk to the log's writer thread, which writes the file, renames it
// into place and deletes the segments before the cut (shard_log.h).
//
// Why this is a consistent cut: the stores that use it log a row's whole state on every change
// (a put or a delete by key, never a delta). A row is serialized as it is when its chunk runs,
// which is its state at the cut or a later one whose record is in the log after the cut. Recovery
// loads the snapshot and replays every record from the cut on, in order, so each row ends at its
// last logged state, exactly as if the snapshot had been taken at the cut. The writer syncs the
// log before the rename, so a snapshot never holds a change the log could still lose.
//
// Memory: at most `kMaxQueuedBytes` of serialized chunks wait for the writer; the producer pauses
// while more do (a slow disk slows the snapshot, never grows memory).
//
// Pace: after a first `kBurst` of work, chunks take at most `kShareOfShard` of the shard's time
// (the next chunk waits on a timer until the share allows it). Without it a big store's chunks ran
// back to back between requests, and with the writer thread copying them out beside the shard
// one snapshot of a million users took half the core for a while: GetUser's p99 at 20,000 req/s
// went from 6 ms to 133 ms (bench/durability/snapshot_p99.py).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/base/result.h"
#include "core/durability/shard_log.h"
#include "core/durability/snapshot_policy.h"
#include "core/runtime/shard.h"

namespace percore::durability {

// What a store hands the snapshotter: its rows as log records, a chunk at a time, in an order
// that stays valid while rows are added and removed between chunks (a key cursor).
class SnapshotSource {
 public:
  virtual ~SnapshotSource() = default;
  // Starts a pass from the first row.
  virtual void Restart() = 0;
  // Appends framed records (AppendRecord) of the next rows to `out` until it holds about
  // `budget` bytes, adding their count to `records`; false once the pass has reached the end.
  virtual bool Next(std::string& out, uint64_t& records, size_t budget) = 0;
};

class ShardSnapshotter : public std::enable_shared_from_this<ShardSnapshotter> {
 public:
  static constexpr size_t kChunkBytes = 64 << 10;
  static constexpr uint64_t kMaxQueuedBytes = 4 << 20;
  static constexpr std::chrono::milliseconds kCheckInterval{100};
  static constexpr double kShareOfShard = 0.1;
  static constexpr std::chrono::milliseconds kBurst{2};

  using DoneFn = std::function<void(const Status&)>;

  // Watches `log` and snapshots `source` per `policy` (no timer when the policy is off;
  // SnapshotNow still works). `source` must outlive the shard's loop.
  static std::shared_ptr<ShardSnapshotter> Start(runtime::Shard& shard,
                                                 std::shared_ptr<ShardLog> log,
                                                 SnapshotSource* source, SnapshotPolicy policy);

  // Starts a snapshot now; `done` runs when it is in place or failed. FAILED_PRECONDITION when
  // one is running or nothing was logged since the last cut.
  Status SnapshotNow(DoneFn done = nullptr);
  bool running() const { return running_; }

  // Private; public for make_shared.
  ShardSnapshotter(runtime::Shard& shard, std::shared_ptr<ShardLog> log, SnapshotSource* source,
                   SnapshotPolicy policy);

 private:
  void Check();
  void Step();
  void ScheduleStep(std::chrono::nanoseconds delay);
  // How long the next chunk waits so that the work so far stays within the pace.
  std::chrono::nanoseconds PaceDelay(std::chrono::steady_clock::time_point now) const;

  runtime::Shard& shard_;
  std::shared_ptr<ShardLog> log_;
  SnapshotSource* source_;
  const SnapshotPolicy policy_;
  bool running_ = false;
  DoneFn done_;
  std::chrono::steady_clock::time_point last_cut_;  // also when the running snapshot started
  std::chrono::nanoseconds work_{0};                // the running snapshot's chunks so far
  std::string chunk_;
};

}  // namespace percore::durability
