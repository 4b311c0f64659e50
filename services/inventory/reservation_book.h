#pragma once
// Threading contract: one ReservationBook per shard, owned by that shard's InventoryHandler;
// used only on that shard's thread.
//
// The reservation records whose reservation_key hashes to this shard (their ids hash here too),
// and the key -> id index that makes ReserveStock idempotent. A record is "pending" while the
// first ReserveStock of its key places its holds: later calls with the same key wait for that
// outcome (as waiters), and a pending record is invisible to Commit/Release (its id has not been
// handed out yet).

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/runtime/shard.h"
#include "services/inventory/inventory_validation.h"

namespace percore::inventory {

// A ReserveStock call waiting on another shard for the outcome of the first call with its key.
struct ReserveWaiter {
  runtime::ShardId shard;
  uint64_t token;  // the waiting call, in that shard's handler
};

struct ReservationRecord {
  v1::Reservation reservation;     // id and key always set; the rest once no longer pending
  std::vector<Line> sorted_lines;  // what a repeated request must match
  bool pending = true;
  std::vector<ReserveWaiter> waiters;
  runtime::TimerId expiry_timer = 0;  // 0: none armed
};

class ReservationBook {
 public:
  ReservationRecord* Find(const std::string& id);
  ReservationRecord* FindByKey(const std::string& key);
  bool Contains(const std::string& id) const { return records_.contains(id); }
  // A new pending record. Precondition: neither the id nor the key is in use.
  ReservationRecord& AddPending(const std::string& id, const std::string& key,
                                std::vector<Line> sorted_lines);
  // Forgets a record and its key (a reservation that failed: the key may be used again).
  void Erase(const std::string& id);
  size_t size() const { return records_.size(); }

 private:
  std::unordered_map<std::string, ReservationRecord> records_;  // by id
  std::unordered_map<std::string, std::string> ids_by_key_;
};

}  // namespace percore::inventory
