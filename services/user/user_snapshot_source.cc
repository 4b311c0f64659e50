#include "services/user/user_snapshot_source.h"

#include "core/durability/log_format.h"
#include "services/user/user_journal.h"

namespace percore::user {

bool UserSnapshotSource::Next(std::string& out, uint64_t& records, size_t budget) {
  while (out.size() < budget) {
    auto rows = partition_.ScanAfter(cursor_ ? &*cursor_ : nullptr, kRowsPerScan);
    for (const auto& [id, message] : rows) {
      durability::AppendRecord(kUserPut, UserPutPayload(id, message.view()), out);
      ++records;
    }
    if (rows.size() < kRowsPerScan) return false;
    cursor_ = rows.back().first;
  }
  return true;
}

}  // namespace percore::user
