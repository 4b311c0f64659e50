#pragma once
// Threading contract: made, started and driven on the shard that serves the ListUsers call;
// rows come from the other shards through the service's ScanShard (owned copies), answers come back
// here.
//
// One ListUsers page, produced as the stream drains: a k-way merge over the shards' users in
// id order where each shard's run is fetched in small chunks after its own cursor, refilled only
// when the merge needs that shard's next row. A client that does not read holds at most one
// chunk per shard plus the call's bounded write queue, not the whole page (issue 15, defect 4:
// 1,000 unread pages of 1,000 users held ~720 KB each). The page ends after `page_size` users;
// the trailing `next-page-token` is set when at least one more user follows. In a cluster the
// member a client asks merges the other partitions' runs in the same way (fetched in chunks over
// gRPC by the service's PartitionScanner); the page token is the last id, valid at every member.

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "core/rpc/server_stream_call.h"
#include "services/user/user_id.h"
#include "services/user/user_service.h"
#include "user/v1/user.pb.h"

namespace percore::user {

class UserListStream : public std::enable_shared_from_this<UserListStream> {
 public:
  using Stream = rpc::ServerStream<::user::v1::ListUsersRequest, ::user::v1::User>;
  using Row = UserService::Row;

  // Rows fetched from a shard at a time: small, so an unread stream costs little; a merge
  // refills a shard about page_size / (chunk * shards) times per page.
  static constexpr size_t kChunkRows = 64;

  // `whole_cluster`: the other partitions (the service's PartitionScanner) are merged in too,
  // each as one more run after the shards'.
  UserListStream(std::shared_ptr<UserService> service, Stream stream, size_t page_size,
                 std::optional<UserId> after, bool whole_cluster = false);
  void Start() { Pump(); }

 private:
  struct ShardRun {
    std::deque<Row> rows;          // fetched, not yet written, ascending
    std::optional<UserId> cursor;  // the last id fetched from this shard
    bool exhausted = false;        // the shard had no row after `cursor`
  };

  // Writes rows while the stream takes them; fetches what the merge needs; finishes the page.
  void Pump();
  // Asks each of `shards` for up to `limit` rows after its cursor; Pump() once all answered.
  void Fetch(const std::vector<size_t>& shards, size_t limit);
  // Fetch() of another partition's run (runs_[run_index], run_index >= shard_runs_).
  void FetchPartition(size_t run_index, size_t limit);
  void Finish(bool more);

  std::shared_ptr<UserService> service_;
  Stream stream_;
  std::vector<ShardRun> runs_;
  size_t shard_runs_;  // runs_[0, shard_runs_) are shards; the rest other partitions
  size_t page_size_;
  bool failed_ = false;  // a partition's scan failed: the page ended with its status
  size_t written_ = 0;
  size_t fetching_ = 0;   // answers still to come
  bool issuing_ = false;  // inside Fetch(): inline answers must not re-enter Pump()
  std::optional<UserId> last_written_;
};

}  // namespace percore::user
