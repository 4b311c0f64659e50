#include "services/inventory/reservation_book.h"

#include <google/protobuf/util/time_util.h>

#include <utility>

#include "services/inventory/service_clock.h"

namespace percore::inventory {
namespace {

using google::protobuf::util::TimeUtil;

const char* StateWord(v1::Reservation::ReservationState state) {
  switch (state) {
    case v1::Reservation::RESERVATION_STATE_COMMITTED:
      return "committed";
    case v1::Reservation::RESERVATION_STATE_RELEASED:
      return "released";
    case v1::Reservation::RESERVATION_STATE_EXPIRED:
      return "expired";
    case v1::Reservation::RESERVATION_STATE_RETURNED:
      return "returned";
    default:
      return "held";
  }
}

// The record leaves HELD for `state` at `now`: what the service settles afterwards.
Settlement EndHeld(ReservationRecord& record, v1::Reservation::ReservationState state,
                   int64_t now) {
  runtime::TimerId cancel_timer = std::exchange(record.expiry_timer, 0);
  record.reservation.set_state(state);
  SetTimestamp(record.reservation.mutable_updated_at(), now);
  // Copy-constructed: a copy assignment (CopyFrom: Clear, then MergeFrom field by field) costs
  // half as much again.
  return Settlement{.reservation = record.reservation,
                    .lines = record.sorted_lines,
                    .cancel_timer = cancel_timer};
}

}  // namespace

ReservationRecord* ReservationBook::Find(const std::string& id) {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

ReservationRecord* ReservationBook::FindByKey(const std::string& key) {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : it->second;
}

ReservationRecord& ReservationBook::AddPending(const std::string& id, const std::string& key,
                                               std::vector<Line> sorted_lines) {
  auto [it, inserted] = records_.try_emplace(id);
  ReservationRecord& record = it->second;
  if (inserted) {
    by_id_.emplace(it->first, &record);
  } else if (auto old = by_key_.find(record.reservation.reservation_key());
             old != by_key_.end() && old->second == &record) {
    by_key_.erase(old);  // re-keyed (never by today's callers): the old key must not dangle
  }
  record.reservation.set_id(id);
  record.reservation.set_reservation_key(key);
  record.sorted_lines = std::move(sorted_lines);
  by_key_[key] = &record;
  return record;
}

void ReservationBook::Unindex(std::map<std::string, ReservationRecord, std::less<>>::iterator it) {
  auto key = by_key_.find(it->second.reservation.reservation_key());
  if (key != by_key_.end() && key->second == &it->second) by_key_.erase(key);
  by_id_.erase(it->first);
}

ReservationRecord& ReservationBook::Restore(const v1::Reservation& reservation) {
  std::vector<Line> lines;
  for (const v1::StockLine& line : reservation.lines()) {
    lines.push_back(Line{line.sku(), line.quantity()});
  }
  ReservationRecord& record =
      AddPending(reservation.id(), reservation.reservation_key(), SortedLines(std::move(lines)));
  record.reservation = reservation;
  record.pending = false;
  if (reservation.state() == v1::Reservation::RESERVATION_STATE_HELD) ++held_;
  return record;
}

void ReservationBook::Erase(const std::string& id) {
  auto it = records_.find(id);
  if (it == records_.end()) return;
  Unindex(it);
  records_.erase(it);
}

Result<BeginOutcome> ReservationBook::Begin(const std::string& key, std::vector<Line> sorted_lines,
                                            ReserveWaiter waiter,
                                            const std::function<std::string()>& new_id) {
  BeginOutcome outcome;
  if (ReservationRecord* record = FindByKey(key)) {
    if (record->sorted_lines != sorted_lines) {
      return {StatusCode::kFailedPrecondition,
              "reservation_key \"" + key + "\" was already used with different lines"};
    }
    if (record->pending) {
      record->waiters.push_back(waiter);
      outcome.kind = BeginOutcome::kWait;
      return outcome;
    }
    outcome.reservation = record->reservation;
    return outcome;
  }
  outcome.kind = BeginOutcome::kStart;
  outcome.id = new_id();
  AddPending(outcome.id, key, std::move(sorted_lines));
  return outcome;
}

std::vector<ReserveWaiter> ReservationBook::Activate(const std::string& id, const ReservePlan& plan,
                                                     const std::vector<commerce::v1::Money>& prices,
                                                     int64_t now) {
  ReservationRecord& record = *Find(id);  // pending records are only erased by DropPending
  v1::Reservation& reservation = record.reservation;
  for (size_t i = 0; i < plan.lines.size(); ++i) {
    v1::StockLine* line = reservation.add_lines();
    line->set_sku(plan.lines[i].sku);
    line->set_quantity(plan.lines[i].quantity);
    *line->mutable_unit_price() = prices[i];
  }
  reservation.set_state(v1::Reservation::RESERVATION_STATE_HELD);
  SetTimestamp(reservation.mutable_created_at(), now);
  SetTimestamp(reservation.mutable_updated_at(), now);
  SetTimestamp(reservation.mutable_expires_at(), now + plan.ttl.count());
  record.pending = false;
  ++held_;
  return std::exchange(record.waiters, {});
}

std::vector<ReserveWaiter> ReservationBook::DropPending(const std::string& id) {
  ReservationRecord* record = Find(id);
  if (record == nullptr) return {};
  std::vector<ReserveWaiter> waiters = std::move(record->waiters);
  Erase(id);
  return waiters;
}

Result<Settlement> ReservationBook::Settle(const std::string& id, SettleHow how, int64_t now) {
  ReservationRecord* record = Find(id);
  if (record == nullptr || record->pending) {
    return {StatusCode::kNotFound, "reservation " + id + " not found"};
  }
  auto target = how == SettleHow::kCommit ? v1::Reservation::RESERVATION_STATE_COMMITTED
                                          : v1::Reservation::RESERVATION_STATE_RELEASED;
  v1::Reservation& reservation = record->reservation;
  // A repeat: the first call settles the holds (a concurrent repeat may answer while it still
  // does; the outcome is decided either way).
  if (reservation.state() == target) return Settlement{.reservation = reservation};
  if (reservation.state() != v1::Reservation::RESERVATION_STATE_HELD) {
    return {StatusCode::kFailedPrecondition,
            "reservation " + id + " was " + StateWord(reservation.state()) +
                "; it can no longer be " + (how == SettleHow::kCommit ? "committed" : "released")};
  }
  --held_;
  return EndHeld(*record, target, now);
}

std::optional<Settlement> ReservationBook::Expire(const std::string& id, int64_t now, bool force) {
  ReservationRecord* record = Find(id);
  if (record == nullptr) return std::nullopt;
  return Expire(*record, now, force);
}

std::optional<Settlement> ReservationBook::Expire(ReservationRecord& record, int64_t now,
                                                  bool force) {
  if (force) record.expiry_timer = 0;  // it is that timer running
  if (record.pending || record.reservation.state() != v1::Reservation::RESERVATION_STATE_HELD) {
    return std::nullopt;
  }
  if (!force && now < TimeUtil::TimestampToNanoseconds(record.reservation.expires_at())) {
    return std::nullopt;
  }
  --held_;
  return EndHeld(record, v1::Reservation::RESERVATION_STATE_EXPIRED, now);
}

Result<Settlement> ReservationBook::BeginReturn(const std::string& id) {
  ReservationRecord* record = Find(id);
  if (record == nullptr || record->pending) {
    return {StatusCode::kNotFound, "reservation " + id + " not found"};
  }
  const v1::Reservation& reservation = record->reservation;
  if (reservation.state() == v1::Reservation::RESERVATION_STATE_RETURNED) {
    return Settlement{.reservation = reservation, .lines = {}};  // a repeat: returned once already
  }
  if (reservation.state() != v1::Reservation::RESERVATION_STATE_COMMITTED) {
    return {StatusCode::kFailedPrecondition, "reservation " + id + " was " +
                                                 StateWord(reservation.state()) +
                                                 "; only a committed one can be returned"};
  }
  if (record->returning) {
    return {StatusCode::kUnavailable,
            "the return of reservation " + id + " is under way; retry to learn its outcome"};
  }
  record->returning = true;
  return Settlement{.reservation = reservation, .lines = record->sorted_lines};
}

Settlement ReservationBook::DecideReturn(const std::string& id, int64_t now) {
  ReservationRecord& record = *Find(id);  // `returning` records are never erased
  record.returning = false;
  record.reservation.set_state(v1::Reservation::RESERVATION_STATE_RETURNED);
  *record.reservation.mutable_updated_at() = TimeUtil::NanosecondsToTimestamp(now);
  return Settlement{.reservation = record.reservation, .lines = record.sorted_lines};
}

void ReservationBook::AbortReturn(const std::string& id) {
  if (ReservationRecord* record = Find(id)) record->returning = false;
}

bool ReservationBook::Forgettable(const v1::Reservation& reservation, int64_t cutoff) {
  auto state = reservation.state();
  return (state == v1::Reservation::RESERVATION_STATE_COMMITTED ||
          state == v1::Reservation::RESERVATION_STATE_RELEASED ||
          state == v1::Reservation::RESERVATION_STATE_EXPIRED ||
          state == v1::Reservation::RESERVATION_STATE_RETURNED) &&
         TimeUtil::TimestampToNanoseconds(reservation.updated_at()) < cutoff;
}

bool ReservationBook::ForgetEnded(int64_t cutoff, size_t limit, std::string* cursor,
                                  std::vector<std::string>* dropped) {
  auto it = cursor->empty() ? records_.begin() : records_.upper_bound(*cursor);
  for (size_t seen = 0; it != records_.end() && seen < limit; ++seen) {
    *cursor = it->first;
    const ReservationRecord& record = it->second;
    if (record.pending || record.returning || !Forgettable(record.reservation, cutoff)) {
      ++it;
      continue;
    }
    dropped->push_back(it->first);
    Unindex(it);
    it = records_.erase(it);
  }
  if (it == records_.end()) cursor->clear();
  return !cursor->empty();
}

}  // namespace percore::inventory
