#pragma once
// Threading contract: Open, Append, WhenDurable, Close and the accessors on the owning shard's
// thread only. Each ShardLog has one writer thread of its own, which alone touches the file; the
// two sides meet in a lock-free queue (shard -> writer: batches) and the shard's mailbox
// (writer -> shard: progress). No lock on either side.
//
// A shard's write-ahead log. The shard frames records into a batch as it serves; the batch goes
// to the writer thread once the shard has finished the work in hand (a task queued behind it), so
// every record made in one burst of requests shares one write and, under `always`, one fsync
// (group commit). The writer reports how far the file is written and synced; WhenDurable
// callbacks run on the shard when their record is as durable as the policy requires.
//
// Disk trouble (ENOSPC, EIO): the writer keeps the batch and retries every `retry_interval`;
// meanwhile Append refuses new records with UNAVAILABLE (the caller must not apply or acknowledge
// the change), and records already appended stay queued, in order, but their WhenDurable
// callbacks run at once with UNAVAILABLE ("not acknowledged: its outcome is unknown"): a write
// is never held until the disk has room, past its client's deadline, nor acknowledged later.
// Writes resume by themselves when the disk recovers.
//
// Snapshots while serving (shard_snapshotter.h drives them): BeginSnapshot cuts the log — the
// records appended from then on go to a new segment file named by its first LSN, the cut — and
// the shard then hands the snapshot's records over in chunks. The writer thread does all of the
// file work in queue order: at the cut it syncs the old segment and opens the new one; it writes
// the chunks to `shard-<i>.snap.tmp`; at the finish it syncs the log (so the snapshot never holds
// a change the log does not), syncs the snapshot, renames it into place, syncs the directory and
// only then deletes the segments before the cut. A snapshot that fails (a full disk) is dropped
// with its temporary file and the log goes on as before; the previous snapshot stays valid.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "core/base/result.h"
#include "core/durability/fsync_policy.h"
#include "core/durability/log_file.h"
#include "core/durability/log_format.h"
#include "core/runtime/mpsc_queue.h"
#include "core/runtime/shard.h"

namespace percore::durability {

struct ShardLogOptions {
  FsyncPolicy policy = FsyncPolicy::kEverySec;
  // The shard number in the segment and snapshot names (generation_dir.h).
  uint32_t shard = 0;
  std::chrono::milliseconds retry_interval{200};
  std::chrono::milliseconds everysec_interval{1000};
};

// What a shard's log has done, for metrics (read on the shard's thread).
struct LogStats {
  uint64_t bytes_logged = 0;  // record bytes written to the log files
  uint64_t fsyncs = 0;        // log fsyncs done
  uint64_t fsync_nanos = 0;   // time the writer spent in them
  uint64_t snapshots = 0;     // snapshots completed while serving
  uint64_t snapshot_failures = 0;
  int64_t last_snapshot_unix_nanos = 0;  // when the last one completed (0: none yet)
  uint64_t last_snapshot_bytes = 0;      // its file size
  uint64_t last_snapshot_records = 0;
  Lsn last_cut = 0;  // the first LSN of the segment being appended to
};

class ShardLog : public std::enable_shared_from_this<ShardLog> {
 public:
  using DurableFn = std::function<void(const Status&)>;
  // Status of the snapshot; its bytes and records.
  using SnapshotDoneFn = std::function<void(const Status&, uint64_t bytes, uint64_t records)>;

  // `file` is open at its valid length; its next record gets `next_lsn`. Shard thread.
  static std::shared_ptr<ShardLog> Start(runtime::Shard& shard, LogFile file, Lsn next_lsn,
                                         ShardLogOptions options);
  ~ShardLog();

  // Frames one record; its LSN, or UNAVAILABLE while the log cannot be written (the change must
  // then not be applied).
  Result<Lsn> Append(uint32_t type, std::string_view payload);
  // `fn` runs on this shard once `lsn` is durable (OK), or with UNAVAILABLE if the log cannot be
  // written (disk trouble: at once, not when the disk recovers) or closes first without having
  // written it. Runs at once when it already is.
  void WhenDurable(Lsn lsn, DurableFn fn);

  // Starts a snapshot at a cut: records appended from now on go to a new segment, and the
  // snapshot file is started. Returns the cut, or FAILED_PRECONDITION when nothing was appended
  // since the last cut (the snapshot would be the same) or a snapshot is still being written.
  Result<Lsn> BeginSnapshot();
  // Framed records (log_format.h) of the snapshot begun; `records` of them.
  void SnapshotChunk(std::string framed, uint64_t records);
  // Ends the snapshot; `done` runs on this shard once it is in place (or failed).
  void FinishSnapshot(SnapshotDoneFn done);
  bool snapshot_running() const { return snapshot_running_; }
  // Snapshot bytes handed to the writer and not yet written (a chunk's producer waits on it).
  uint64_t snapshot_bytes_queued() const {
    return snapshot_queued_.load(std::memory_order_relaxed);
  }
  // Record bytes framed since the last cut (what --snapshot-every counts).
  uint64_t bytes_since_cut() const { return appended_bytes_ - appended_at_cut_; }
  const LogStats& stats() const { return stats_; }
  runtime::Shard* shard() { return &shard_; }

  Lsn next_lsn() const { return next_lsn_; }
  Lsn durable_lsn() const { return durable_end_; }  // every LSN below it is durable
  bool failing() const { return !failure_.ok(); }
  const Status& failure() const { return failure_; }
  uint64_t bytes_written() const { return written_bytes_; }
  const std::string& path() const { return path_; }

  // Hands over what is gathered, lets the writer write and sync it, joins the writer, and runs
  // every waiting callback (OK when written, UNAVAILABLE otherwise). Idempotent.
  void Close();

  // Private; public for make_shared.
  ShardLog(runtime::Shard& shard, LogFile file, Lsn next_lsn, ShardLogOptions options);

 private:
  struct Batch : runtime::MpscNode {
    enum Kind : uint8_t { kRecords, kSnapshotBegin, kSnapshotChunk, kSnapshotFinish };
    Kind kind = kRecords;
    std::string bytes;     // kRecords, kSnapshotChunk: framed records
    Lsn end = 0;           // kRecords: one past its last record; kSnapshotBegin: the cut
    uint64_t records = 0;  // kSnapshotChunk
  };
  // Writer side: the snapshot being written, and what it did.
  struct SnapshotWork;
  struct WriterState;
  struct Waiter {
    Lsn lsn;
    DurableFn fn;
  };

  void HandOff();
  void Push(std::unique_ptr<Batch> batch);
  void WakeWriter();
  void WriterLoop(Lsn first_lsn);
  // Writer thread: handles one snapshot node (a snapshot that fails is dropped, never retried).
  void WriteSnapshotNode(Batch& node, WriterState& state);
  // Shard thread: what the writer reports.
  void OnProgress(Lsn written_end, Lsn synced_end, uint64_t bytes, uint64_t fsyncs,
                  uint64_t fsync_nanos, Status failure);
  // Writer thread: syncs the log file; on success records it in `state` (count, time, end).
  Status SyncLog(WriterState& state);
  void OnSnapshotDone(const Status& status, uint64_t bytes, uint64_t records);
  void RunWaiters();
  // While failing_: every waiter left is answered UNAVAILABLE (not acknowledged).
  void FailWaiters();
  Status NotAcknowledged() const;

  runtime::Shard& shard_;
  const ShardLogOptions options_;
  const std::string path_;

  // Shard side.
  Lsn next_lsn_;
  Lsn durable_end_;
  Lsn written_end_;
  uint64_t written_bytes_ = 0;
  Status failure_;
  std::unique_ptr<Batch> gathering_;
  std::deque<Waiter> waiters_;  // by LSN
  bool closed_ = false;
  uint64_t appended_bytes_ = 0;
  uint64_t appended_at_cut_ = 0;
  Lsn segment_first_;  // the first LSN of the segment records now go to
  bool snapshot_running_ = false;
  SnapshotDoneFn snapshot_done_;
  LogStats stats_;
  std::atomic<uint64_t> snapshot_queued_{0};

  // Writer side.
  LogFile file_;
  std::string dir_;  // where the segments and the snapshot are
  runtime::MpscQueue queue_;
  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread writer_;
  // Set by the writer as it exits, read by Close() after the join.
  Lsn final_written_end_ = 0;
  Lsn final_synced_end_ = 0;
  uint64_t final_bytes_ = 0;
  uint64_t final_fsyncs_ = 0;
  uint64_t final_fsync_nanos_ = 0;
};

}  // namespace percore::durability
