#pragma once
// Threading contract: used only on the shard that owns the partition (the snapshotter's steps
// run there, between requests).
//
// One shard's users as snapshot records (kUserPut, the same payload as the log's), a chunk at a
// time in id order. The cursor is the last id written, so rows added or removed between chunks
// never make the pass skip or repeat a row that stayed (TablePartition::ScanAfter's guarantee);
// what changed meanwhile is in the log after the cut (shard_snapshotter.h). After the rows, the
// email claims this shard holds for other partitions' users (kEmailClaim), a chunk at a time in
// key order, the cursor the last key written.

#include <optional>
#include <string>

#include "core/durability/shard_snapshotter.h"
#include "services/user/user_id.h"
#include "services/user/user_partition.h"

namespace percore::user {

class UserSnapshotSource final : public durability::SnapshotSource {
 public:
  explicit UserSnapshotSource(const UserPartition& partition) : partition_(partition) {}

  void Restart() override {
    cursor_.reset();
    claims_ = false;
    claim_cursor_.reset();
  }
  bool Next(std::string& out, uint64_t& records, size_t budget) override;

 private:
  static constexpr size_t kRowsPerScan = 64;

  const UserPartition& partition_;
  std::optional<UserId> cursor_;             // the last id written in this pass
  bool claims_ = false;                      // the rows are done: the remote claims now
  std::optional<std::string> claim_cursor_;  // the last claim's key written in this pass
};

}  // namespace percore::user
