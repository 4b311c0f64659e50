#pragma once
// Threading contract: one ReservationBook per shard, inside that shard's InventoryShard; used only
// on that shard's thread. Other shards reach it through Sharded<InventoryShard>::InvokeOn.
//
// The store of reservation records: those whose reservation_key hashes to this shard (their ids
// hash here too), the key -> id index that makes ReserveStock idempotent, and the pure state
// machine of a reservation (pending -> HELD -> COMMITTED / RELEASED / EXPIRED). No timers and no
// hops: each op takes the time as `now` and says what the service must do next (answer waiters,
// settle holds on the product shards, cancel an expiry timer).
//
// A record is "pending" while the first ReserveStock of its key places its holds: later calls
// with the same key wait for that outcome (as waiters), and a pending record is invisible to
// Commit/Release (its id has not been handed out yet).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/base/result.h"
#include "core/runtime/shard.h"
#include "services/inventory/inventory_validation.h"

namespace percore::inventory {

// A ReserveStock call waiting on another shard for the outcome of the first call with its key.
struct ReserveWaiter {
  runtime::ShardId shard;
  uint64_t token;  // the waiting call, parked on that shard (InventoryShard::Park)
};

struct ReservationRecord {
  v1::Reservation reservation;     // id and key always set; the rest once no longer pending
  std::vector<Line> sorted_lines;  // what a repeated request must match
  bool pending = true;
  std::vector<ReserveWaiter> waiters;
  runtime::TimerId expiry_timer = 0;  // 0: none armed
  bool returning = false;  // a ReturnReservation is placing its pending returns (not logged)
};

// What the key's shard says to a ReserveStock.
struct BeginOutcome {
  enum Kind { kAnswer, kWait, kStart } kind = kAnswer;
  // kAnswer: the existing reservation (optional: none is built, moved and destroyed for the
  // others, a new reservation's first call among them).
  std::optional<v1::Reservation> reservation;
  std::string id;  // kStart: the new pending reservation's id
};

// A HELD reservation that has just left that state: the holds to settle on the product shards
// (by SKU) and the expiry timer to cancel (0: none).
struct Settlement {
  v1::Reservation reservation;
  std::vector<Line> lines;  // empty when there is nothing to settle (a repeat)
  runtime::TimerId cancel_timer = 0;
};

enum class SettleHow { kCommit, kRelease };

class ReservationBook {
 public:
  // Its indexes point into its own records: a copy would point into the original.
  ReservationBook() = default;
  ReservationBook(const ReservationBook&) = delete;
  ReservationBook& operator=(const ReservationBook&) = delete;
  ReservationBook(ReservationBook&&) = default;
  ReservationBook& operator=(ReservationBook&&) = default;

  ReservationRecord* Find(const std::string& id);
  ReservationRecord* FindByKey(const std::string& key);
  bool Contains(const std::string& id) const { return by_id_.contains(id); }
  // A new pending record. Precondition: neither the id nor the key is in use.
  ReservationRecord& AddPending(const std::string& id, const std::string& key,
                                std::vector<Line> sorted_lines);
  // Forgets a record and its key (a reservation that failed: the key may be used again).
  void Erase(const std::string& id);
  size_t size() const { return records_.size(); }
  // Records in state HELD (kept by Activate, Restore, Settle and Expire), for /metrics.
  size_t held() const { return held_; }
  // Recovery: a reservation no longer pending (HELD or ended), findable by id and by key.
  ReservationRecord& Restore(const v1::Reservation& reservation);
  // Retention (--idempotency-retention): forgets up to `limit` records looked at after
  // `*cursor` (from the first when empty) that ended (COMMITTED, RELEASED, EXPIRED) with their
  // last change before `cutoff` (ns since the epoch), and their keys, which may then be used
  // again; their ids go to `dropped`. True while more are left (`*cursor` says where), false at
  // the end (`*cursor` cleared).
  bool ForgetEnded(int64_t cutoff, size_t limit, std::string* cursor,
                   std::vector<std::string>* dropped);
  // Whether a record that ended at `updated_at` is past the retention `cutoff`.
  static bool Forgettable(const v1::Reservation& reservation, int64_t cutoff);
  // Every record by id, ascending (the snapshot's cursor order).
  const std::map<std::string, ReservationRecord, std::less<>>& records() const { return records_; }

  // ReserveStock on the key's shard: the existing reservation of `key` (kAnswer), or `waiter`
  // added to its pending record (kWait), or a new pending record with id `new_id()` (kStart).
  // FAILED_PRECONDITION naming the key when it was used with other lines. Call ExpireIfDue
  // for the key's record first, so an answer is what is true at `now`.
  Result<BeginOutcome> Begin(const std::string& key, std::vector<Line> sorted_lines,
                             ReserveWaiter waiter, const std::function<std::string()>& new_id);
  // The pending record `id` becomes HELD with `lines` (request order) at their `prices`, until
  // now + ttl. Returns its waiters (answered with the reservation) and clears them.
  std::vector<ReserveWaiter> Activate(const std::string& id, const ReservePlan& plan,
                                      const std::vector<commerce::v1::Money>& prices, int64_t now);
  // The pending record `id` failed: forgotten, its key free again. Returns its waiters.
  std::vector<ReserveWaiter> DropPending(const std::string& id);
  // HELD -> COMMITTED or RELEASED. A repeat returns the reservation with nothing to settle;
  // NOT_FOUND for an unknown (or pending) id; FAILED_PRECONDITION when it ended otherwise.
  Result<Settlement> Settle(const std::string& id, SettleHow how, int64_t now);
  // HELD past its expires_at (or `force`: its timer ran) -> EXPIRED at `now`: the holds to
  // return to stock. nullopt when the record is not HELD or not yet due.
  std::optional<Settlement> Expire(const std::string& id, int64_t now, bool force = false);
  // The same for a record already found (one lookup less on every settle).
  std::optional<Settlement> Expire(ReservationRecord& record, int64_t now, bool force = false);

  // ReturnReservation (return_service.cc), on the record's shard. BeginReturn: a COMMITTED
  // record not already being returned is marked `returning`, with its lines to place as pending
  // returns on the product shards; a RETURNED one is a repeat (no lines); UNAVAILABLE while
  // another call's return is under way; NOT_FOUND; FAILED_PRECONDITION when never committed.
  Result<Settlement> BeginReturn(const std::string& id);
  // Once every pending return is durable: COMMITTED -> RETURNED at `now` (the decision).
  Settlement DecideReturn(const std::string& id, int64_t now);
  // The pending returns could not all be placed: it stays COMMITTED (it may be asked again).
  void AbortReturn(const std::string& id);

 private:
  // Drops the hash indexes' entries for the record at `it` before it is erased.
  void Unindex(std::map<std::string, ReservationRecord, std::less<>>::iterator it);

  // Ordered, so a snapshot can walk it a chunk at a time by a key cursor.
  std::map<std::string, ReservationRecord, std::less<>> records_;  // by id
  // The lookups (several per order) go through hash indexes instead of the ordered map's ~12
  // string compares: by id (the view is records_' node key, which stays put until erased) and
  // by reservation key. Both point at records_' nodes.
  absl::flat_hash_map<std::string_view, ReservationRecord*> by_id_;
  absl::flat_hash_map<std::string, ReservationRecord*> by_key_;
  size_t held_ = 0;
};

}  // namespace percore::inventory
