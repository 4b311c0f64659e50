#pragma once
// Threading contract: one StockPartition per shard, owned by that shard's InventoryHandler;
// every member is used only on that shard's thread. Other shards reach it by hopping here and
// get owned copies back.
//
// The products whose ShardFor(sku) is this shard, and the holds reservations place on them.
// A hold is keyed by reservation id: Hold checks every line first and then holds them all in one
// step (so a shard never holds part of a reservation), and CommitHold / ReleaseHold of an id
// that holds nothing here do nothing, which makes settling a reservation idempotent.
// Invariant: 0 <= reserved <= stock for every product, so available = stock - reserved >= 0.
// A pending return (ReturnReservation) is keyed by reservation id too: the committed units this
// shard puts back once the return is decided; ApplyReturn of an id with none does nothing, so a
// return is applied once however often it is asked.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/result.h"
#include "core/storage/table_partition.h"
#include "services/inventory/inventory_validation.h"

namespace percore::inventory {

class StockPartition {
 public:
  std::optional<v1::Product> Load(const std::string& sku) const;
  // The rows `lines` name, whole, as they are now (the rows a hold's or a return's record logs).
  std::vector<v1::Product> LoadLines(const std::vector<Line>& lines) const;
  // ALREADY_EXISTS if the SKU exists. `request` is validated.
  Result<v1::Product> Create(const v1::CreateProductRequest& request, int64_t now);
  // NOT_FOUND; FAILED_PRECONDITION if the stock would fall below the reserved units;
  // INVALID_ARGUMENT if it would overflow.
  Result<v1::Product> Adjust(const std::string& sku, int64_t delta, int64_t now);
  // All of `lines` (every SKU owned here) or none: NOT_FOUND for an unknown SKU,
  // FAILED_PRECONDITION for one short of stock (naming it and its available count). On success
  // returns each line's unit price, in the order of `lines`.
  Result<std::vector<commerce::v1::Money>> Hold(const std::string& reservation_id,
                                                const std::vector<Line>& lines, int64_t now);
  // The held units become available again.
  void ReleaseHold(const std::string& reservation_id, int64_t now);
  // The held units leave the stock.
  void CommitHold(const std::string& reservation_id, int64_t now);
  // A pending return of `lines` (every SKU owned here) for `reservation_id`: the rows are not
  // changed yet. Replaces one already pending for that id.
  void PrepareReturn(const std::string& reservation_id, std::vector<Line> lines);
  // The pending return's units go back to the stock, and it ends. Nothing when there is none.
  void ApplyReturn(const std::string& reservation_id, int64_t now);
  // Replay of a pending return's whole state (kReturnState): its lines, none once it ended (or
  // was dropped: recovery drops those whose reservation was not returned).
  void SetReturn(const std::string& reservation_id, std::vector<Line> lines);
  // Pending returns by reservation id, ascending.
  const std::map<std::string, std::vector<Line>, std::less<>>& returns() const { return returns_; }
  // Up to `limit` products with SKUs after `after` (all when nullptr), ascending.
  std::vector<std::pair<std::string, v1::Product>> ScanAfter(const std::string* after,
                                                             size_t limit) const;

  size_t size() const { return rows_.size(); }
  size_t hold_count() const { return holds_.size(); }
  // The rows' serialized bytes (for /metrics), kept by every write.
  size_t bytes() const { return bytes_; }

  // Recovery (inventory_journal.h): a row as it was stored (its `reserved` included), and a hold
  // without touching the rows (their `reserved` already counts it).
  void RestoreRow(const v1::Product& product) { Store(product.sku(), product); }
  void RestoreHold(const std::string& reservation_id, const std::vector<Line>& lines);
  // Replay of a hold's whole state (kHoldState): its lines here now, none when it ended.
  void SetHold(const std::string& reservation_id, std::vector<Line> lines);
  // Holds by reservation id, ascending (the snapshot's cursor order).
  const std::map<std::string, std::vector<Line>, std::less<>>& holds() const { return holds_; }

 private:
  // Ends a hold: every held unit leaves `reserved`, and leaves `stock` too when sold.
  void EndHold(const std::string& reservation_id, bool sold, int64_t now);
  // Every new or replaced row: Put and the bytes count.
  void Store(const std::string& sku, v1::Product product);
  // change(v1::Product&) on the row of `sku` in place (no copy of the row), keeping the bytes
  // count: the old size is the row's cached size (measured when it was last stored or changed),
  // the new one measured once. The row, or nullptr (and no change) when there is none.
  template <class Change>
  const v1::Product* Update(const std::string& sku, Change&& change) {
    v1::Product* row = rows_.GetMutable(sku);
    if (row == nullptr) return nullptr;
    bytes_ -= row->GetCachedSize();
    change(*row);
    bytes_ += row->ByteSizeLong();
    return row;
  }

  storage::TablePartition<std::string, v1::Product> rows_;
  std::map<std::string, std::vector<Line>, std::less<>> holds_;    // by reservation id
  std::map<std::string, std::vector<Line>, std::less<>> returns_;  // by reservation id
  size_t bytes_ = 0;                                               // see bytes()
};

}  // namespace percore::inventory
