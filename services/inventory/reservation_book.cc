#include "services/inventory/reservation_book.h"

namespace percore::inventory {

ReservationRecord* ReservationBook::Find(const std::string& id) {
  auto it = records_.find(id);
  return it == records_.end() ? nullptr : &it->second;
}

ReservationRecord* ReservationBook::FindByKey(const std::string& key) {
  auto it = ids_by_key_.find(key);
  return it == ids_by_key_.end() ? nullptr : Find(it->second);
}

ReservationRecord& ReservationBook::AddPending(const std::string& id, const std::string& key,
                                               std::vector<Line> sorted_lines) {
  ReservationRecord& record = records_[id];
  record.reservation.set_id(id);
  record.reservation.set_reservation_key(key);
  record.sorted_lines = std::move(sorted_lines);
  ids_by_key_[key] = id;
  return record;
}

void ReservationBook::Erase(const std::string& id) {
  auto it = records_.find(id);
  if (it == records_.end()) return;
  ids_by_key_.erase(it->second.reservation.reservation_key());
  records_.erase(it);
}

}  // namespace percore::inventory
