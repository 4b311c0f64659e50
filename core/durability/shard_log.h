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
// the change), records already appended stay queued and are acknowledged once written, and
// writes resume by themselves when the disk recovers.

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
  std::chrono::milliseconds retry_interval{200};
  std::chrono::milliseconds everysec_interval{1000};
};

class ShardLog : public std::enable_shared_from_this<ShardLog> {
 public:
  using DurableFn = std::function<void(const Status&)>;

  // `file` is open at its valid length; its next record gets `next_lsn`. Shard thread.
  static std::shared_ptr<ShardLog> Start(runtime::Shard& shard, LogFile file, Lsn next_lsn,
                                         ShardLogOptions options);
  ~ShardLog();

  // Frames one record; its LSN, or UNAVAILABLE while the log cannot be written (the change must
  // then not be applied).
  Result<Lsn> Append(uint32_t type, std::string_view payload);
  // `fn` runs on this shard once `lsn` is durable (OK), or with UNAVAILABLE if the log closes
  // first without having written it. Runs at once when it already is.
  void WhenDurable(Lsn lsn, DurableFn fn);

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
    std::string bytes;
    Lsn end = 0;  // one past its last record
  };
  struct Waiter {
    Lsn lsn;
    DurableFn fn;
  };

  void HandOff();
  void WakeWriter();
  void WriterLoop(Lsn first_lsn);
  // Shard thread: what the writer reports.
  void OnProgress(Lsn written_end, Lsn synced_end, uint64_t bytes, Status failure);
  void RunWaiters();

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

  // Writer side.
  LogFile file_;
  runtime::MpscQueue queue_;
  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread writer_;
  // Set by the writer as it exits, read by Close() after the join.
  Lsn final_written_end_ = 0;
  Lsn final_synced_end_ = 0;
  uint64_t final_bytes_ = 0;
};

}  // namespace percore::durability
