#include "services/user/user_list_stream.h"

#include <algorithm>

#include "core/base/status.h"
#include "services/user/page_token.h"

namespace percore::user {

UserListStream::UserListStream(std::shared_ptr<UserService> service, Stream stream,
                               size_t page_size, std::optional<UserId> after, bool whole_cluster)
    : service_(std::move(service)),
      stream_(std::move(stream)),
      runs_(service_->shards().size() +
            (whole_cluster ? service_->partition_scanner().Sources() : 0)),
      shard_runs_(service_->shards().size()),
      page_size_(page_size) {
  for (ShardRun& run : runs_) run.cursor = after;
}

void UserListStream::Pump() {
  while (fetching_ == 0) {
    if (stream_.cancelled() || failed_) return;
    std::vector<size_t> empty;
    for (size_t s = 0; s < runs_.size(); ++s) {
      if (runs_[s].rows.empty() && !runs_[s].exhausted) empty.push_back(s);
    }
    if (written_ == page_size_) {
      // Another page follows if any shard still holds a row; a shard with none buffered is
      // asked for one, so the token is only set when a row really follows.
      bool more = false;
      for (const ShardRun& run : runs_) more = more || !run.rows.empty();
      if (!more && !empty.empty()) {
        Fetch(empty, 1);
        continue;
      }
      Finish(more);
      return;
    }
    // The merge's next row may be on any shard whose run is empty: refill those first.
    if (!empty.empty()) {
      // One more than the page still needs, so the end of the page rarely needs a probe.
      Fetch(empty, std::min(kChunkRows, page_size_ - written_ + 1));
      continue;
    }
    ShardRun* next = nullptr;
    for (ShardRun& run : runs_) {
      if (!run.rows.empty() &&
          (next == nullptr || run.rows.front().first < next->rows.front().first)) {
        next = &run;
      }
    }
    if (next == nullptr) {  // every shard exhausted: the last page
      Finish(false);
      return;
    }
    if (!stream_.WriteRaw(next->rows.front().second)) {  // not taken: the queue is full
      if (stream_.cancelled()) return;
      stream_.OnWritable([self = shared_from_this()] { self->Pump(); });
      return;
    }
    last_written_ = next->rows.front().first;
    next->rows.pop_front();
    ++written_;
  }
}

void UserListStream::Fetch(const std::vector<size_t>& shards, size_t limit) {
  fetching_ = shards.size();
  // A hop to this very shard answers inline, inside this loop: Pump() (our caller) carries on
  // after it. Only an answer that comes later, as a task, resumes the pump itself.
  issuing_ = true;
  auto self = shared_from_this();
  for (size_t s : shards) {
    if (s >= shard_runs_) {
      FetchPartition(s, limit);
      continue;
    }
    service_->ScanShard(static_cast<runtime::ShardId>(s), runs_[s].cursor, limit,
                        [self, s, limit](Result<std::vector<Row>> fetched) {
                          std::vector<Row>& rows = *fetched;  // a scan always answers
                          ShardRun& run = self->runs_[s];
                          run.exhausted = rows.size() < limit;
                          if (!rows.empty()) run.cursor = rows.back().first;
                          for (Row& row : rows) run.rows.push_back(std::move(row));
                          if (--self->fetching_ == 0 && !self->issuing_) self->Pump();
                        });
  }
  issuing_ = false;
}

void UserListStream::FetchPartition(size_t run_index, size_t limit) {
  auto self = shared_from_this();
  service_->partition_scanner().scan(
      run_index - shard_runs_, runs_[run_index].cursor, limit, stream_.deadline(),
      [self, run_index, limit](Result<PartitionScanner::Rows> fetched) {
        if (!fetched.ok()) {
          if (!self->failed_) {
            self->failed_ = true;
            self->stream_.FinishNow(fetched.status());
          }
        } else {
          ShardRun& run = self->runs_[run_index];
          run.exhausted = fetched->size() < limit;
          if (!fetched->empty()) run.cursor = fetched->back().first;
          for (Row& row : *fetched) run.rows.push_back(std::move(row));
        }
        if (--self->fetching_ == 0 && !self->issuing_) self->Pump();
      });
}

void UserListStream::Finish(bool more) {
  if (more && last_written_) {
    stream_.AddTrailingMetadata("next-page-token", EncodePageToken(*last_written_));
  }
  stream_.Finish(Status());
}

}  // namespace percore::user
