#include "core/durability/shard_log.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <vector>

#include "core/durability/generation_dir.h"
#include "core/durability/snapshot_file.h"

namespace percore::durability {

struct ShardLog::SnapshotWork {
  Lsn cut = 0;
  std::optional<SnapshotWriter> writer;  // empty once failed
  Status status;
  uint64_t records = 0;
};

struct ShardLog::WriterState {
  Lsn written_end = 0;
  Lsn synced_end = 0;
  uint64_t bytes = 0;
  uint64_t fsyncs = 0;
  uint64_t fsync_nanos = 0;
  Status failure;
  bool changed = false;              // something to report to the shard
  std::vector<std::string> retired;  // segments before the last cut, deleted after a snapshot
  std::optional<SnapshotWork> snapshot;
};

std::shared_ptr<ShardLog> ShardLog::Start(runtime::Shard& shard, LogFile file, Lsn next_lsn,
                                          ShardLogOptions options) {
  auto log = std::make_shared<ShardLog>(shard, std::move(file), next_lsn, options);
  log->writer_ = std::thread([raw = log.get(), next_lsn] { raw->WriterLoop(next_lsn); });
  return log;
}

ShardLog::ShardLog(runtime::Shard& shard, LogFile file, Lsn next_lsn, ShardLogOptions options)
    : shard_(shard),
      options_(options),
      path_(file.path()),
      next_lsn_(next_lsn),
      durable_end_(next_lsn),
      written_end_(next_lsn),
      segment_first_(next_lsn),
      file_(std::move(file)),
      dir_(std::filesystem::path(path_).parent_path().string()),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

ShardLog::~ShardLog() {
  Close();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Result<Lsn> ShardLog::Append(uint32_t type, std::string_view payload) {
  if (closed_) return Status(StatusCode::kUnavailable, "write-ahead log " + path_ + " is closed");
  if (!failure_.ok()) {
    return Status(StatusCode::kUnavailable,
                  failure_.message() + "; writes are refused until the log can be written");
  }
  if (payload.size() > kMaxRecordBytes) {
    return Status(
        StatusCode::kResourceExhausted,
        "log record of " + std::to_string(payload.size()) + " bytes is over the record limit");
  }
  if (!gathering_) {
    gathering_ = std::make_unique<Batch>();
    // Queued behind the work in hand, so every record of this burst shares one batch.
    shard_.Submit([weak = weak_from_this()] {
      if (auto log = weak.lock()) log->HandOff();
    });
  }
  const size_t before = gathering_->bytes.size();
  AppendRecord(type, payload, gathering_->bytes);
  appended_bytes_ += gathering_->bytes.size() - before;
  const Lsn lsn = next_lsn_++;
  gathering_->end = next_lsn_;
  return lsn;
}

void ShardLog::WhenDurable(Lsn lsn, DurableFn fn) {
  if (lsn < durable_end_) {
    fn(Status());
    return;
  }
  if (closed_) {
    fn(Status(StatusCode::kUnavailable, "write-ahead log " + path_ + " closed before the write"));
    return;
  }
  if (!failure_.ok()) {  // a record appended before the failure was known: not held either
    fn(NotAcknowledged());
    return;
  }
  // Callers wait for the record they just appended, so this is almost always the back.
  auto at = std::upper_bound(waiters_.begin(), waiters_.end(), lsn,
                             [](Lsn l, const Waiter& w) { return l < w.lsn; });
  waiters_.insert(at, Waiter{lsn, std::move(fn)});
}

void ShardLog::HandOff() {
  if (!gathering_) return;
  Push(std::move(gathering_));
}

void ShardLog::Push(std::unique_ptr<Batch> batch) {
  queue_.Push(batch.release());
  WakeWriter();
}

Result<Lsn> ShardLog::BeginSnapshot() {
  if (closed_) return Status(StatusCode::kUnavailable, "write-ahead log " + path_ + " is closed");
  if (snapshot_running_) {
    return Status(StatusCode::kFailedPrecondition, "a snapshot of " + dir_ + " is running");
  }
  if (next_lsn_ == segment_first_) {
    return Status(StatusCode::kFailedPrecondition, "nothing logged since the last snapshot");
  }
  // Everything framed so far belongs before the cut.
  HandOff();
  const Lsn cut = next_lsn_;
  auto begin = std::make_unique<Batch>();
  begin->kind = Batch::kSnapshotBegin;
  begin->end = cut;
  Push(std::move(begin));
  segment_first_ = cut;
  appended_at_cut_ = appended_bytes_;
  stats_.last_cut = cut;
  snapshot_running_ = true;
  return cut;
}

void ShardLog::SnapshotChunk(std::string framed, uint64_t records) {
  if (!snapshot_running_ || framed.empty()) return;
  auto chunk = std::make_unique<Batch>();
  chunk->kind = Batch::kSnapshotChunk;
  snapshot_queued_.fetch_add(framed.size(), std::memory_order_relaxed);
  chunk->bytes = std::move(framed);
  chunk->records = records;
  Push(std::move(chunk));
}

void ShardLog::FinishSnapshot(SnapshotDoneFn done) {
  if (!snapshot_running_) {
    done(Status(StatusCode::kFailedPrecondition, "no snapshot is running"), 0, 0);
    return;
  }
  snapshot_done_ = std::move(done);
  // The records framed while the snapshot was serialized go before the finish, which syncs them.
  HandOff();
  auto finish = std::make_unique<Batch>();
  finish->kind = Batch::kSnapshotFinish;
  Push(std::move(finish));
}

void ShardLog::OnSnapshotDone(const Status& status, uint64_t bytes, uint64_t records) {
  snapshot_running_ = false;
  if (status.ok()) {
    ++stats_.snapshots;
    stats_.last_snapshot_unix_nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count();
    stats_.last_snapshot_bytes = bytes;
    stats_.last_snapshot_records = records;
  } else {
    ++stats_.snapshot_failures;
  }
  SnapshotDoneFn done = std::move(snapshot_done_);
  snapshot_done_ = nullptr;
  if (done) done(status, bytes, records);
}

void ShardLog::WakeWriter() {
  uint64_t one = 1;
  // EAGAIN only when the counter is saturated, i.e. the writer is already due to wake.
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void ShardLog::OnProgress(Lsn written_end, Lsn synced_end, uint64_t bytes, uint64_t fsyncs,
                          uint64_t fsync_nanos, Status failure) {
  written_end_ = std::max(written_end_, written_end);
  stats_.bytes_logged = std::max(stats_.bytes_logged, bytes);
  stats_.fsyncs = std::max(stats_.fsyncs, fsyncs);
  stats_.fsync_nanos = std::max(stats_.fsync_nanos, fsync_nanos);
  const Lsn durable = options_.policy == FsyncPolicy::kAlways ? synced_end : written_end;
  durable_end_ = std::max(durable_end_, durable);
  written_bytes_ = std::max(written_bytes_, bytes);
  if (!closed_) failure_ = std::move(failure);
  RunWaiters();
  if (!failure_.ok()) FailWaiters();
}

void ShardLog::FailWaiters() {
  // The writes waiting now are applied in memory and their records keep their place in the
  // log (so later ones replay on top of them), but they are answered at once rather than held
  // until the disk has room, maybe past their clients' deadlines, and never acknowledged later.
  if (waiters_.empty()) return;
  Status unknown = NotAcknowledged();
  std::deque<Waiter> failed = std::move(waiters_);
  waiters_.clear();
  for (Waiter& waiter : failed) waiter.fn(unknown);
}

Status ShardLog::NotAcknowledged() const {
  return Status(StatusCode::kUnavailable,
                failure_.message() +
                    "; this write is not acknowledged: its outcome is unknown (it is logged if "
                    "the disk has room again before the server stops)");
}

void ShardLog::RunWaiters() {
  while (!waiters_.empty() && waiters_.front().lsn < durable_end_) {
    DurableFn fn = std::move(waiters_.front().fn);
    waiters_.pop_front();
    fn(Status());
  }
}

void ShardLog::Close() {
  if (closed_) return;
  closed_ = true;
  HandOff();
  stop_.store(true, std::memory_order_release);
  WakeWriter();
  if (writer_.joinable()) writer_.join();
  // The writer's last report may still sit in the mailbox: its final state is read here instead
  // (join orders it before us).
  OnProgress(final_written_end_, final_synced_end_, final_bytes_, final_fsyncs_, final_fsync_nanos_,
             Status());
  snapshot_running_ = false;
  snapshot_done_ = nullptr;  // a snapshot cut short by the close is dropped
  Status gone(StatusCode::kUnavailable,
              "write-ahead log " + path_ + " closed before the write reached it");
  while (!waiters_.empty()) {
    DurableFn fn = std::move(waiters_.front().fn);
    waiters_.pop_front();
    fn(gone);
  }
}

void ShardLog::WriteSnapshotNode(Batch& node, WriterState& state) {
  switch (node.kind) {
    case Batch::kSnapshotBegin: {
      SnapshotWork& work = state.snapshot.emplace();
      work.cut = node.end;
      // The old segment must be complete on disk before records go on in a new one.
      Status synced = SyncLog(state);
      const std::string segment = dir_ + "/" + GenerationDir::SegmentName(options_.shard, work.cut);
      Result<LogFile> next = synced.ok()
                                 ? LogFile::Open(segment, {kLogMagic, options_.shard, work.cut}, 0)
                                 : Result<LogFile>(synced);
      Status dir_synced = next.ok() ? SyncDirectory(dir_) : next.status();
      if (!dir_synced.ok()) {
        // No cut: records go on in the old segment and this snapshot is dropped.
        if (next.ok()) ::unlink(segment.c_str());
        work.status = dir_synced;
        return;
      }
      state.retired.push_back(file_.path());
      file_ = std::move(*next);
      Result<SnapshotWriter> writer =
          SnapshotWriter::Create(dir_, GenerationDir::SnapshotName(options_.shard),
                                 {kSnapshotMagic, options_.shard, work.cut});
      if (writer.ok()) {
        work.writer.emplace(std::move(*writer));
      } else {
        work.status = writer.status();
      }
      return;
    }
    case Batch::kSnapshotChunk: {
      snapshot_queued_.fetch_sub(node.bytes.size(), std::memory_order_relaxed);
      if (!state.snapshot || !state.snapshot->writer) return;
      Status added = state.snapshot->writer->AddFramed(node.bytes);
      state.snapshot->records += node.records;
      if (!added.ok()) {
        state.snapshot->status = added;
        state.snapshot->writer.reset();  // removes the temporary file
      }
      return;
    }
    case Batch::kSnapshotFinish: {
      if (!state.snapshot) return;
      SnapshotWork& work = *state.snapshot;
      uint64_t bytes = 0;
      if (work.writer) {
        // The snapshot may hold changes made after the cut: they must be on disk in the log
        // before the snapshot replaces the previous one.
        Status done = SyncLog(state);
        if (done.ok()) done = work.writer->Finish();
        bytes = work.writer->bytes();
        if (done.ok()) {
          for (const std::string& old : state.retired) ::unlink(old.c_str());
          state.retired.clear();
          // The deletes need not be durable: recovery skips segments before the cut.
        } else {
          work.status = done;
        }
        work.writer.reset();
      }
      if (!stop_.load(std::memory_order_acquire)) {
        shard_.Submit(
            [weak = weak_from_this(), status = work.status, bytes, records = work.records] {
              if (auto log = weak.lock()) log->OnSnapshotDone(status, bytes, records);
            });
      }
      state.snapshot.reset();
      return;
    }
    case Batch::kRecords:
      return;
  }
}

void ShardLog::WriterLoop(Lsn first_lsn) {
  using Clock = std::chrono::steady_clock;
  std::deque<std::unique_ptr<Batch>> pending;  // taken from the queue, not yet written
  std::vector<struct iovec> buffers;
  WriterState state;
  state.written_end = first_lsn;
  state.synced_end = first_lsn;
  auto last_sync = Clock::now();
  std::weak_ptr<ShardLog> weak = weak_from_this();
  for (;;) {
    const bool stopping = stop_.load(std::memory_order_acquire);
    while (runtime::MpscNode* node = queue_.Pop()) {
      pending.emplace_back(static_cast<Batch*>(node));
    }
    state.changed = false;
    // In queue order: runs of record batches in one write each, snapshot work in between.
    while (!pending.empty()) {
      if (pending.front()->kind != Batch::kRecords) {
        WriteSnapshotNode(*pending.front(), state);
        pending.pop_front();
        continue;
      }
      buffers.clear();
      size_t run = 0;
      for (; run < pending.size() && pending[run]->kind == Batch::kRecords; ++run) {
        buffers.push_back({pending[run]->bytes.data(), pending[run]->bytes.size()});
      }
      Status written = file_.Append(buffers.data(), static_cast<int>(buffers.size()));
      if (!written.ok()) {
        if (state.failure.message() != written.message()) {
          state.failure = std::move(written);
          state.changed = true;
        }
        break;  // retried after retry_interval, in order
      }
      for (size_t i = 0; i < run; ++i) state.bytes += pending[i]->bytes.size();
      state.written_end = pending[run - 1]->end;
      pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(run));
      state.changed = true;
      if (!state.failure.ok()) state.failure = Status();
    }
    const bool sync_due = options_.policy == FsyncPolicy::kAlways || stopping ||
                          (options_.policy == FsyncPolicy::kEverySec &&
                           Clock::now() - last_sync >= options_.everysec_interval);
    if (state.synced_end < state.written_end && sync_due) {
      Status synced = SyncLog(state);
      if (synced.ok()) {
        last_sync = Clock::now();
      } else if (state.failure.message() != synced.message()) {
        state.failure = std::move(synced);
        state.changed = true;
      }
    }
    // Not when stopping: Close() reads the final state after the join, and the shard may be
    // gone already (a log closed after its runtime).
    if (state.changed && !stopping) {
      shard_.Submit([weak, written_end = state.written_end, synced_end = state.synced_end,
                     bytes = state.bytes, fsyncs = state.fsyncs, fsync_nanos = state.fsync_nanos,
                     failure = state.failure] {
        if (auto log = weak.lock()) {
          log->OnProgress(written_end, synced_end, bytes, fsyncs, fsync_nanos, failure);
        }
      });
    }
    if (stopping) break;  // one last attempt was made above; what failed stays unwritten
    int timeout_ms = -1;
    if (!pending.empty()) {
      timeout_ms = static_cast<int>(options_.retry_interval.count());
    } else if (state.synced_end < state.written_end && options_.policy == FsyncPolicy::kEverySec) {
      auto left = options_.everysec_interval - (Clock::now() - last_sync);
      timeout_ms = static_cast<int>(
          std::max<int64_t>(0, std::chrono::ceil<std::chrono::milliseconds>(left).count()));
    }
    struct pollfd wait {
      wake_fd_, POLLIN, 0
    };
    ::poll(&wait, 1, timeout_ms);
    uint64_t count = 0;
    [[maybe_unused]] ssize_t n = ::read(wake_fd_, &count, sizeof count);
  }
  // Chunks never written are no longer queued.
  for (const auto& node : pending) {
    if (node->kind == Batch::kSnapshotChunk) {
      snapshot_queued_.fetch_sub(node->bytes.size(), std::memory_order_relaxed);
    }
  }
  final_written_end_ = state.written_end;
  final_synced_end_ = state.synced_end;
  final_bytes_ = state.bytes;
  final_fsyncs_ = state.fsyncs;
  final_fsync_nanos_ = state.fsync_nanos;
}

Status ShardLog::SyncLog(WriterState& state) {
  const auto start = std::chrono::steady_clock::now();
  Status synced = file_.Sync();
  if (synced.ok()) {
    state.fsync_nanos += static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                   std::chrono::steady_clock::now() - start)
                                                   .count());
    state.synced_end = state.written_end;
    ++state.fsyncs;
    state.changed = true;
  }
  return synced;
}

}  // namespace percore::durability
