#include "core/durability/shard_log.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

namespace percore::durability {

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
      file_(std::move(file)),
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
  AppendRecord(type, payload, gathering_->bytes);
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
  // Callers wait for the record they just appended, so this is almost always the back.
  auto at = std::upper_bound(waiters_.begin(), waiters_.end(), lsn,
                             [](Lsn l, const Waiter& w) { return l < w.lsn; });
  waiters_.insert(at, Waiter{lsn, std::move(fn)});
}

void ShardLog::HandOff() {
  if (!gathering_) return;
  queue_.Push(gathering_.release());
  WakeWriter();
}

void ShardLog::WakeWriter() {
  uint64_t one = 1;
  // EAGAIN only when the counter is saturated, i.e. the writer is already due to wake.
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void ShardLog::OnProgress(Lsn written_end, Lsn synced_end, uint64_t bytes, Status failure) {
  written_end_ = std::max(written_end_, written_end);
  const Lsn durable = options_.policy == FsyncPolicy::kAlways ? synced_end : written_end;
  durable_end_ = std::max(durable_end_, durable);
  written_bytes_ = std::max(written_bytes_, bytes);
  if (!closed_) failure_ = std::move(failure);
  RunWaiters();
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
  OnProgress(final_written_end_, final_synced_end_, final_bytes_, Status());
  Status gone(StatusCode::kUnavailable,
              "write-ahead log " + path_ + " closed before the write reached it");
  while (!waiters_.empty()) {
    DurableFn fn = std::move(waiters_.front().fn);
    waiters_.pop_front();
    fn(gone);
  }
}

void ShardLog::WriterLoop(Lsn first_lsn) {
  using Clock = std::chrono::steady_clock;
  std::vector<std::unique_ptr<Batch>> pending;  // taken from the queue, not yet written
  std::vector<struct iovec> buffers;
  Lsn written_end = first_lsn;
  Lsn synced_end = written_end;
  uint64_t bytes = 0;
  Status failure;
  auto last_sync = Clock::now();
  std::weak_ptr<ShardLog> weak = weak_from_this();
  for (;;) {
    const bool stopping = stop_.load(std::memory_order_acquire);
    while (runtime::MpscNode* node = queue_.Pop()) {
      pending.emplace_back(static_cast<Batch*>(node));
    }
    bool changed = false;
    if (!pending.empty()) {
      buffers.clear();
      for (const auto& batch : pending)
        buffers.push_back({batch->bytes.data(), batch->bytes.size()});
      Status written = file_.Append(buffers.data(), static_cast<int>(buffers.size()));
      if (written.ok()) {
        for (const auto& batch : pending) bytes += batch->bytes.size();
        written_end = pending.back()->end;
        pending.clear();
        changed = true;
        if (!failure.ok()) failure = Status();
      } else if (failure.message() != written.message()) {
        failure = std::move(written);
        changed = true;
      }
    }
    const bool sync_due = options_.policy == FsyncPolicy::kAlways || stopping ||
                          (options_.policy == FsyncPolicy::kEverySec &&
                           Clock::now() - last_sync >= options_.everysec_interval);
    if (synced_end < written_end && sync_due) {
      Status synced = file_.Sync();
      if (synced.ok()) {
        synced_end = written_end;
        last_sync = Clock::now();
        changed = true;
      } else if (failure.message() != synced.message()) {
        failure = std::move(synced);
        changed = true;
      }
    }
    // Not when stopping: Close() reads the final state after the join, and the shard may be
    // gone already (a log closed after its runtime).
    if (changed && !stopping) {
      shard_.Submit([weak, written_end, synced_end, bytes, failure] {
        if (auto log = weak.lock()) log->OnProgress(written_end, synced_end, bytes, failure);
      });
    }
    if (stopping) break;  // one last attempt was made above; what failed stays unwritten
    int timeout_ms = -1;
    if (!pending.empty()) {
      timeout_ms = static_cast<int>(options_.retry_interval.count());
    } else if (synced_end < written_end && options_.policy == FsyncPolicy::kEverySec) {
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
  final_written_end_ = written_end;
  final_synced_end_ = synced_end;
  final_bytes_ = bytes;
}

}  // namespace percore::durability
