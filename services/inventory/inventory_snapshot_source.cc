#include "services/inventory/inventory_snapshot_source.h"

#include "core/durability/log_format.h"
#include "services/inventory/inventory_journal.h"

namespace percore::inventory {

size_t InventorySnapshotSource::ScanPart(size_t part, const std::string* after, std::string& out,
                                         uint64_t& records, std::string* last) {
  if (part == 0) {
    auto run = stock_.ScanAfter(after, kRowsPerScan);
    for (const auto& [sku, product] : run) {
      durability::AppendRecord(kProductPut, product.SerializeAsString(), out);
      ++records;
      *last = sku;
    }
    return run.size();
  }
  if (part == 1) {
    return ScanMap(stock_.holds(), after, kRowsPerScan, last,
                   [&](const std::string& id, const std::vector<Line>& lines) {
                     durability::AppendRecord(kHoldRestore, EncodeHold({id, 0, lines}), out);
                     ++records;
                   });
  }
  if (part == 3) {
    return ScanMap(stock_.returns(), after, kRowsPerScan, last,
                   [&](const std::string& id, const std::vector<Line>& lines) {
                     durability::AppendRecord(kReturnState, EncodeHoldState({id, lines, {}}), out);
                     ++records;
                   });
  }
  return ScanMap(reservations_.records(), after, kRowsPerScan, last,
                 [&](const std::string&, const ReservationRecord& record) {
                   if (record.pending) return;  // not logged: nothing was acknowledged
                   durability::AppendRecord(kReservationPut, record.reservation.SerializeAsString(),
                                            out);
                   ++records;
                 });
}

}  // namespace percore::inventory
