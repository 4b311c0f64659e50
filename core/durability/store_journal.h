#pragma once
// Threading contract: a StoreJournal belongs to one shard's part of a service and is used only
// on that shard's thread. ReplayStore and WriteNextGeneration run on the control thread before
// the shards start.
//
// What a durable service needs around its shard's ShardLog (shard_log.h), for any record types:
// log a change, learn when it (or everything logged so far) is as durable as --fsync says, close.
// And the two halves of recovery every store shares: replay the live generation (each old shard's
// snapshot, then its log, in order), and write the next generation (one snapshot per new shard,
// empty logs) once the service has re-placed its rows for today's shard count. The service
// decides what its records mean (services/user/user_journal.h was the first such store;
// inventory and payment use this one).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/result.h"
#include "core/durability/durability_config.h"
#include "core/durability/generation_dir.h"
#include "core/durability/log_file.h"
#include "core/durability/shard_log.h"
#include "core/durability/shard_snapshotter.h"
#include "core/runtime/shard.h"

namespace percore::durability {

class StoreJournal {
 public:
  // Off (no data directory) until Start.
  void Start(runtime::Shard& shard, LogFile file, FsyncPolicy policy);
  bool enabled() const { return log_ != nullptr; }
  // After Start: snapshots `source` while serving per `policy` (shard_snapshotter.h). `source`
  // must outlive the shard's loop.
  void EnableSnapshots(SnapshotSource* source, SnapshotPolicy policy);
  // The shard's snapshotter (null when off), for tests and operators.
  ShardSnapshotter* snapshotter() { return snapshotter_.get(); }
  // What the log has done (null when off), for metrics.
  const LogStats* stats() const { return log_ ? &log_->stats() : nullptr; }

  // OK, or UNAVAILABLE while the log cannot be written: the change must not be made.
  Status CheckWritable() const;
  // Frames the record. nullopt when off, or when the log refuses it (which cannot happen after
  // CheckWritable said OK on the same task).
  std::optional<Lsn> Log(uint32_t type, std::string_view payload);
  // Log(type, encode()), with `encode` called only when the journal is on: without a data
  // directory a record is never built (a hot path's serialization and copies cost nothing).
  template <class Encode>
  std::optional<Lsn> LogWith(uint32_t type, Encode&& encode) {
    if (!enabled()) return std::nullopt;
    return Log(type, std::forward<Encode>(encode)());
  }
  // fn(status) on this shard once `lsn` is durable (at once when off or nullopt).
  void AfterDurable(std::optional<Lsn> lsn, ShardLog::DurableFn fn);
  // fn(status) once everything logged so far is durable: an answer that reports state another
  // task changed (a repeat of a write still on its way to disk) waits for that write.
  void AfterAllDurable(ShardLog::DurableFn fn);
  // Writes and syncs what is pending and stops the log's writer thread.
  void Close();

 private:
  std::shared_ptr<ShardLog> log_;
  std::shared_ptr<ShardSnapshotter> snapshotter_;
};

// What a replay found beyond the records themselves.
struct ReplayStats {
  uint64_t records = 0;
};

// fn(type, payload): applies one record; not OK stops the replay (DATA_LOSS naming the file).
using ShardRecordFn = std::function<Status(uint32_t type, std::string_view payload)>;

// Replays one old shard's files: its snapshot, then the log segments from the snapshot's cut on
// (older ones are what a crash left between a snapshot's rename and their deletion). Torn tails
// and skipped records are reported in `report`. The number of records, or the scan's error.
Result<uint64_t> ReplayShardFiles(const GenerationDir::ShardFiles& files, bool skip_corrupt,
                                  const ShardRecordFn& fn, std::string* report);

// fn(old_shard, type, payload): applies one record; not OK stops the replay (DATA_LOSS naming the
// file).
using ReplayFn = std::function<Status(uint32_t shard, uint32_t type, std::string_view payload)>;

// Opens `config.data_dir`/`store` and replays its live generation (if any) through `fn`: per old
// shard its snapshot, then its log. DATA_LOSS (naming the file and offset) on damage inside a log
// unless config.skip_corrupt; torn tails and skipped records are reported in `report`.
Result<GenerationDir> ReplayStore(const DurabilityConfig& config, const std::string& store,
                                  const ReplayFn& fn, std::string* report, ReplayStats* stats);

// One snapshot record.
using SnapshotRecord = std::pair<uint32_t, std::string>;

// Writes the next generation of `dir`: shard i's snapshot holds `snapshots[i]`, its log is new
// and empty; then makes it live. Returns the logs, by shard.
Result<std::vector<LogFile>> WriteNextGeneration(
    GenerationDir& dir, const std::vector<std::vector<SnapshotRecord>>& snapshots);

}  // namespace percore::durability
