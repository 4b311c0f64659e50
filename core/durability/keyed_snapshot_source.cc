#include "core/durability/keyed_snapshot_source.h"

#include <utility>

namespace percore::durability {

void KeyedSnapshotSource::Restart() {
  part_ = 0;
  started_ = false;
  cursor_.clear();
}

bool KeyedSnapshotSource::Next(std::string& out, uint64_t& records, size_t budget) {
  while (out.size() < budget && part_ < parts_) {
    std::string last;
    size_t seen = ScanPart(part_, started_ ? &cursor_ : nullptr, out, records, &last);
    if (seen > 0) {
      started_ = true;
      cursor_ = std::move(last);
    }
    if (seen < kRowsPerScan) {  // the part is done
      ++part_;
      started_ = false;
      cursor_.clear();
    }
  }
  return part_ < parts_;
}

}  // namespace percore::durability
