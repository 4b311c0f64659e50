#pragma once
// Threading contract: the encoders and decoders are pure (any thread); RecoverInventory runs on
// the control thread before the shards start.
//
// The inventory service's durable state (issue 10). Each shard logs, through its StoreJournal,
// what changes in its StockPartition and ReservationBook:
//   - kProductPut: the whole product row after CreateProduct or AdjustStock;
//   - kHoldState: a reservation's hold on this shard's products placed, sold or given back, as
//     whole state: the lines it holds here now (none once it ended) and every product row it
//     changed, whole. (kHold / kHoldCommit / kHoldRelease, deltas replayed through
//     StockPartition, are what servers before snapshots-while-serving logged; still replayed.)
//   - kReservationPut: the whole reservation record when it becomes HELD and when it leaves HELD
//     (COMMITTED, RELEASED, EXPIRED). Pending records are not logged: nothing was acknowledged.
//   - kReturnState: a reservation's pending return on this shard's products (ReturnReservation,
//     return_service.cc), in HoldState's form: the lines to put back (none once applied) and
//     the rows the application changed, whole.
//   - kReservationDrop: an ended reservation forgotten once --idempotency-retention has passed
//     since its last change (its key may then be used again); recovery drops such records too.
// Write order makes the records agree after any crash: a hold is durable before its reservation
// is logged HELD, and holds are settled on the product shards only after the decision
// (COMMITTED / RELEASED / EXPIRED) is durable. Recovery then reconciles what is left: a hold whose
// reservation is not HELD is committed (COMMITTED) or given back (anything else, including no
// record: a ReserveStock the crash interrupted, never acknowledged). A return is placed as a
// pending return on every product shard (durable) before its reservation is logged RETURNED, and
// applied to the rows only after that: recovery applies a pending return whose reservation is
// RETURNED and drops one whose reservation is not (the return was never decided; its caller
// retries), so the units go back exactly once.
//
// Every record sets keyed state whole (a product by SKU, a hold by reservation id, a reservation
// by id), never a delta, so a fuzzy snapshot taken while serving plus the log from its cut
// replays to the exact state (core/durability/shard_snapshotter.h; inventory_snapshot_source.h).
//
// Placement for today's --shards: products (and their share of each hold) by ShardFor(sku); a
// reservation record by ShardFor(reservation_key), as ReserveStock finds it. Its id was drawn to
// hash to the key's shard for the shard count of its day; when it no longer does, the id's shard
// gets a forward (`moved`: id -> record shard), so Commit/Release by id still find it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/base/result.h"
#include "core/durability/durability_config.h"
#include "core/durability/log_file.h"
#include "core/durability/store_journal.h"
#include "core/runtime/shard.h"
#include "services/inventory/inventory_validation.h"

namespace percore::inventory {

enum InventoryRecordType : uint32_t {
  kProductPut = 1,       // serialized inventory.v1.Product
  kHold = 2,             // reservation id, now, lines: StockPartition::Hold
  kHoldCommit = 3,       // reservation id, now: StockPartition::CommitHold
  kHoldRelease = 4,      // reservation id, now: StockPartition::ReleaseHold
  kReservationPut = 5,   // serialized inventory.v1.Reservation
  kHoldRestore = 6,      // snapshots only: reservation id, 0, lines; `reserved` is in the rows
  kHoldState = 7,        // HoldState: a hold's lines now and the rows it changed, whole
  kReservationDrop = 8,  // reservation id: an ended reservation past its retention, forgotten
  kReturnState = 9,      // HoldState: a pending return's lines now and the rows it changed
};

struct HoldRecord {
  std::string reservation_id;
  int64_t now = 0;
  std::vector<Line> lines;  // empty for commit and release
};

std::string EncodeHold(const HoldRecord& hold);
// false when the payload is damaged.
bool DecodeHold(std::string_view payload, HoldRecord* hold);

// A hold's whole state on one shard after a change, and the product rows the change made.
struct HoldState {
  std::string reservation_id;
  std::vector<Line> lines;        // what it holds here now; empty: the hold ended
  std::vector<v1::Product> rows;  // each changed row, whole
};

std::string EncodeHoldState(const HoldState& state);
// false when the payload is damaged.
bool DecodeHoldState(std::string_view payload, HoldState* state);

// What recovery hands each shard.
struct InventoryRestore {
  std::vector<v1::Product> products;
  std::vector<std::pair<std::string, std::vector<Line>>> holds;  // by reservation id
  std::vector<v1::Reservation> reservations;
  std::unordered_map<std::string, runtime::ShardId> moved;  // reservation id -> record shard
  std::optional<durability::LogFile> log;
};

// Recovers the inventory under `config.data_dir`/inventory for `shards` shards and starts the
// next generation. `now` (ns since the epoch) stamps the holds recovery settles; reservations
// that ended more than config.idempotency_retention before it are not kept.
Result<std::vector<InventoryRestore>> RecoverInventory(const durability::DurabilityConfig& config,
                                                       size_t shards, int64_t now,
                                                       std::string* report);

}  // namespace percore::inventory
