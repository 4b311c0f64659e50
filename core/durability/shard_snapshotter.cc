#include "core/durability/shard_snapshotter.h"

#include <utility>

namespace percore::durability {

std::shared_ptr<ShardSnapshotter> ShardSnapshotter::Start(runtime::Shard& shard,
                                                          std::shared_ptr<ShardLog> log,
                                                          SnapshotSource* source,
                                                          SnapshotPolicy policy) {
  auto snapshotter = std::make_shared<ShardSnapshotter>(shard, std::move(log), source, policy);
  if (policy.enabled()) {
    shard.RunAfter(kCheckInterval, [weak = std::weak_ptr<ShardSnapshotter>(snapshotter)] {
      if (auto self = weak.lock()) self->Check();
    });
  }
  return snapshotter;
}

ShardSnapshotter::ShardSnapshotter(runtime::Shard& shard, std::shared_ptr<ShardLog> log,
                                   SnapshotSource* source, SnapshotPolicy policy)
    : shard_(shard),
      log_(std::move(log)),
      source_(source),
      policy_(policy),
      last_cut_(std::chrono::steady_clock::now()) {}

void ShardSnapshotter::Check() {
  const uint64_t grown = log_->bytes_since_cut();
  const bool due = !running_ && grown > 0 && !log_->failing() &&
                   ((policy_.every_bytes > 0 && grown >= policy_.every_bytes) ||
                    (policy_.every.count() > 0 &&
                     std::chrono::steady_clock::now() - last_cut_ >= policy_.every));
  if (due) {
    Status started = SnapshotNow();
    (void)started;  // a refusal is retried at the next check
  }
  shard_.RunAfter(kCheckInterval, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->Check();
  });
}

Status ShardSnapshotter::SnapshotNow(DoneFn done) {
  if (running_) return Status(StatusCode::kFailedPrecondition, "a snapshot is running");
  Result<Lsn> cut = log_->BeginSnapshot();
  if (!cut.ok()) return cut.status();
  running_ = true;
  done_ = std::move(done);
  last_cut_ = std::chrono::steady_clock::now();
  work_ = std::chrono::nanoseconds(0);
  source_->Restart();
  ScheduleStep(std::chrono::nanoseconds(0));
  return Status();
}

void ShardSnapshotter::ScheduleStep(std::chrono::nanoseconds delay) {
  auto step = [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->Step();
  };
  if (delay.count() == 0) {
    shard_.Submit(std::move(step));  // behind the requests that arrived meanwhile
  } else {
    shard_.RunAfter(delay, std::move(step));
  }
}

std::chrono::nanoseconds ShardSnapshotter::PaceDelay(
    std::chrono::steady_clock::time_point now) const {
  using std::chrono::nanoseconds;
  const nanoseconds elapsed = now - last_cut_;
  const auto allowed = std::chrono::duration_cast<nanoseconds>(elapsed * kShareOfShard) + kBurst;
  if (work_ <= allowed) return nanoseconds(0);
  // The moment at which work_ is within the share: (work_ - kBurst) / kShareOfShard after the
  // start.
  const auto due = std::chrono::duration_cast<nanoseconds>((work_ - kBurst) / kShareOfShard);
  return due - elapsed;
}

void ShardSnapshotter::Step() {
  if (!running_) return;
  if (!log_->snapshot_running()) {  // the log closed under us
    running_ = false;
    return;
  }
  if (log_->snapshot_bytes_queued() > kMaxQueuedBytes) {
    ScheduleStep(std::chrono::milliseconds(1));  // the disk is behind: wait for the writer
    return;
  }
  const auto begin = std::chrono::steady_clock::now();
  chunk_.clear();
  uint64_t records = 0;
  const bool more = source_->Next(chunk_, records, kChunkBytes);
  log_->SnapshotChunk(std::move(chunk_), records);
  chunk_ = std::string();
  const auto end = std::chrono::steady_clock::now();
  work_ += end - begin;
  if (more) {
    ScheduleStep(PaceDelay(end));
    return;
  }
  log_->FinishSnapshot([weak = weak_from_this()](const Status& status, uint64_t, uint64_t) {
    auto self = weak.lock();
    if (!self) return;
    self->running_ = false;
    if (DoneFn done = std::move(self->done_)) {
      self->done_ = nullptr;
      done(status);
    }
  });
}

}  // namespace percore::durability
