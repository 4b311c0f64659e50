#pragma once
// Threading contract: used only on the shard that owns the stores (the snapshotter's steps run
// there, between requests).
//
// One shard's inventory as snapshot records, a chunk at a time, each part by a key cursor
// (core/durability/keyed_snapshot_source.h): its products (kProductPut) by SKU, then its holds
// (kHoldRestore: the lines; the rows' `reserved` already counts them) by reservation id, then its
// reservation records no longer pending (kReservationPut) by id, then its pending returns
// (kReturnState, no rows) by reservation id. Every inventory record sets
// keyed state whole (inventory_journal.h), so what changed after the cut is set right by the log
// from the cut (core/durability/shard_snapshotter.h).

#include <cstdint>
#include <string>

#include "core/durability/keyed_snapshot_source.h"
#include "services/inventory/reservation_book.h"
#include "services/inventory/stock_partition.h"

namespace percore::inventory {

class InventorySnapshotSource final : public durability::KeyedSnapshotSource {
 public:
  InventorySnapshotSource(const StockPartition& stock, const ReservationBook& reservations)
      : KeyedSnapshotSource(4), stock_(stock), reservations_(reservations) {}

 private:
  size_t ScanPart(size_t part, const std::string* after, std::string& out, uint64_t& records,
                  std::string* last) override;

  const StockPartition& stock_;
  const ReservationBook& reservations_;
};

}  // namespace percore::inventory
