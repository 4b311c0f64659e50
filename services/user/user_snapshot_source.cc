#include "services/user/user_snapshot_source.h"

#include "core/durability/log_format.h"
#include "services/user/user_journal.h"

namespace percore::user {

bool UserSnapshotSource::Next(std::string& out, uint64_t& records, size_t budget) {
  while (!claims_ && out.size() < budget) {
    auto rows = partition_.ScanAfter(cursor_ ? &*cursor_ : nullptr, kRowsPerScan);
    for (const auto& [id, message] : rows) {
      durability::AppendRecord(kUserPut, UserPutPayload(id, message.view()), out);
      ++records;
    }
    if (rows.size() < kRowsPerScan) {
      claims_ = true;
      break;
    }
    cursor_ = rows.back().first;
  }
  if (!claims_) return true;
  const auto& claims = partition_.remote_claims();
  auto it = claim_cursor_ ? claims.upper_bound(*claim_cursor_) : claims.begin();
  for (; it != claims.end() && out.size() < budget; ++it) {
    durability::AppendRecord(kEmailClaim, UserPutPayload(it->second.claimer, it->first), out);
    ++records;
    claim_cursor_ = it->first;
  }
  return it != claims.end();
}

}  // namespace percore::user
