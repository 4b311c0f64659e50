// InventoryHandler's reservation operations: ReserveStock, CommitReservation,
// ReleaseReservation and expiry (the plan is in inventory_handler.h).

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <map>

#include "core/base/status.h"
#include "core/runtime/runtime.h"
#include "services/inventory/handler_support.h"
#include "services/inventory/inventory_handler.h"

namespace percore::inventory {
namespace {

using google::protobuf::util::TimeUtil;
using internal::NowNanos;
using internal::ToTimestamp;

InventoryHandler& Here(InventoryHandler::Def* def) {
  return def->local(*runtime::Shard::Current());
}

Status ReservationNotFound(const std::string& id) {
  return Status(StatusCode::kNotFound, "reservation " + id + " not found");
}

const char* StateWord(v1::Reservation::ReservationState state) {
  switch (state) {
    case v1::Reservation::RESERVATION_STATE_COMMITTED:
      return "committed";
    case v1::Reservation::RESERVATION_STATE_RELEASED:
      return "released";
    case v1::Reservation::RESERVATION_STATE_EXPIRED:
      return "expired";
    default:
      return "held";
  }
}

Status ParseReservationId(const std::string& id) {
  if (id.empty()) return Status(StatusCode::kInvalidArgument, "reservation_id is required");
  if (!IsReservationId(id)) {
    return Status(StatusCode::kInvalidArgument,
                  "reservation_id \"" + id + "\" is not a reservation id (rsv_ and 16 hex digits)");
  }
  return Status();
}

}  // namespace

// What the key's shard says to a ReserveStock.
struct InventoryHandler::BeginOutcome {
  enum Kind { kAnswer, kWait, kStart } kind = kAnswer;
  Status status;                // kAnswer
  v1::Reservation reservation;  // kAnswer with OK: the existing reservation
  std::string id;               // kStart: the new reservation's id
};

// What the record's shard decided for a Commit or Release.
struct InventoryHandler::SettleDecision {
  Status status;
  v1::Reservation reservation;
  std::vector<runtime::ShardId> shards;  // whose holds to settle (empty when already settled)
};

// One ReserveStock in flight, on the shard that serves it.
struct InventoryHandler::ReserveAttempt {
  ReservePlan plan;
  runtime::ShardId record_shard = 0;
  std::string id;
  // The lines by owning shard, ascending; `held` groups are held so far.
  std::vector<std::pair<runtime::ShardId, std::vector<Line>>> groups;
  size_t held = 0;
  std::map<std::string, commerce::v1::Money> prices;  // by SKU
  Done<v1::Reservation> done;
};

void InventoryHandler::Reserve(const v1::ReserveStockRequest& request, Done<v1::Reservation> done) {
  auto attempt = std::make_shared<ReserveAttempt>();
  ReserveLimits limits{options_.default_reservation_ttl, options_.max_reservation_ttl,
                       options_.max_lines_per_reservation};
  if (Status status = ValidateReserveStock(request, limits, &attempt->plan); !status.ok()) {
    done(status, v1::Reservation());
    return;
  }
  attempt->record_shard = ShardOf(attempt->plan.key);
  std::map<runtime::ShardId, std::vector<Line>> groups;
  for (const Line& line : attempt->plan.lines) groups[ShardOf(line.sku)].push_back(line);
  attempt->groups.assign(groups.begin(), groups.end());

  // Parked before the hop: if the key is in flight, the key's shard answers this token later.
  uint64_t token = next_wait_token_++;
  waiting_.emplace(token, std::move(done));
  runtime_.Hop(
      attempt->record_shard,
      [def = def_, key = attempt->plan.key, sorted = SortedLines(attempt->plan.lines),
       waiter = ReserveWaiter{shard_.id(), token}]() mutable {
        return Here(def).BeginReservation(key, std::move(sorted), waiter);
      },
      [this, attempt, token](BeginOutcome begin) {
        if (begin.kind == BeginOutcome::kWait) return;  // ResumeWaiter answers
        auto it = waiting_.find(token);
        Done<v1::Reservation> done = std::move(it->second);
        waiting_.erase(it);
        if (begin.kind == BeginOutcome::kAnswer) {
          done(begin.status, std::move(begin.reservation));
          return;
        }
        attempt->id = std::move(begin.id);
        attempt->done = std::move(done);
        HoldNext(std::move(attempt));
      });
}

InventoryHandler::BeginOutcome InventoryHandler::BeginReservation(const std::string& key,
                                                                  std::vector<Line> sorted_lines,
                                                                  ReserveWaiter waiter) {
  BeginOutcome outcome;
  if (ReservationRecord* record = reservations_.FindByKey(key)) {
    if (record->sorted_lines != sorted_lines) {
      outcome.status =
          Status(StatusCode::kFailedPrecondition,
                 "reservation_key \"" + key + "\" was already used with different lines");
      return outcome;
    }
    if (record->pending) {
      record->waiters.push_back(waiter);
      outcome.kind = BeginOutcome::kWait;
      return outcome;
    }
    int64_t now = NowNanos();
    if (record->reservation.state() == v1::Reservation::RESERVATION_STATE_HELD &&
        now >= TimeUtil::TimestampToNanoseconds(record->reservation.expires_at())) {
      MarkExpired(*record, now);  // its timer is late: report what is true now
    }
    outcome.reservation = record->reservation;
    return outcome;
  }
  std::string id = ids_.Next(shard_.id(), runtime_.size(),
                             [this](const std::string& id) { return reservations_.Contains(id); });
  reservations_.AddPending(id, key, std::move(sorted_lines));
  outcome.kind = BeginOutcome::kStart;
  outcome.id = std::move(id);
  return outcome;
}

void InventoryHandler::HoldNext(std::shared_ptr<ReserveAttempt> attempt) {
  if (attempt->held == attempt->groups.size()) {
    CompleteReserve(std::move(attempt));
    return;
  }
  const auto& [shard, lines] = attempt->groups[attempt->held];
  runtime_.Hop(
      shard,
      [def = def_, id = attempt->id, lines = lines, now = NowNanos()] {
        return Here(def).stock().Hold(id, lines, now);
      },
      [this, attempt](Result<std::vector<commerce::v1::Money>> prices) {
        if (!prices.ok()) {
          AbortReserve(attempt, prices.status());
          return;
        }
        const std::vector<Line>& lines = attempt->groups[attempt->held].second;
        for (size_t i = 0; i < lines.size(); ++i) attempt->prices[lines[i].sku] = (*prices)[i];
        ++attempt->held;
        HoldNext(attempt);
      });
}

void InventoryHandler::AbortReserve(std::shared_ptr<ReserveAttempt> attempt, Status status) {
  std::vector<runtime::ShardId> held;
  for (size_t i = 0; i < attempt->held; ++i) held.push_back(attempt->groups[i].first);
  // Undo every hold, then free the key, then answer: once the caller hears "no", nothing of
  // this reservation is held anywhere.
  internal::HopAll(
      runtime_, held,
      [def = def_, id = attempt->id, now = NowNanos()] { Here(def).stock().ReleaseHold(id, now); },
      [this, attempt, status] {
        runtime_.Hop(
            attempt->record_shard,
            [def = def_, id = attempt->id, status] {
              Here(def).DropPendingReservation(id, status);
            },
            [attempt, status] { attempt->done(status, v1::Reservation()); });
      });
}

void InventoryHandler::DropPendingReservation(const std::string& id, const Status& status) {
  ReservationRecord* record = reservations_.Find(id);
  if (record == nullptr) return;
  NotifyWaiters(*record, status);
  reservations_.Erase(id);
}

void InventoryHandler::CompleteReserve(std::shared_ptr<ReserveAttempt> attempt) {
  std::vector<commerce::v1::Money> prices;
  for (const Line& line : attempt->plan.lines) prices.push_back(attempt->prices[line.sku]);
  runtime_.Hop(
      attempt->record_shard,
      [def = def_, id = attempt->id, plan = attempt->plan, prices = std::move(prices)] {
        return Here(def).ActivateReservation(id, plan, prices);
      },
      [attempt](v1::Reservation reservation) { attempt->done(Status(), std::move(reservation)); });
}

v1::Reservation InventoryHandler::ActivateReservation(
    const std::string& id, const ReservePlan& plan,
    const std::vector<commerce::v1::Money>& prices) {
  ReservationRecord& record = *reservations_.Find(id);  // pending records are only erased here
  int64_t now = NowNanos();
  v1::Reservation& reservation = record.reservation;
  for (size_t i = 0; i < plan.lines.size(); ++i) {
    v1::StockLine* line = reservation.add_lines();
    line->set_sku(plan.lines[i].sku);
    line->set_quantity(plan.lines[i].quantity);
    *line->mutable_unit_price() = prices[i];
  }
  reservation.set_state(v1::Reservation::RESERVATION_STATE_HELD);
  *reservation.mutable_created_at() = ToTimestamp(now);
  *reservation.mutable_updated_at() = ToTimestamp(now);
  *reservation.mutable_expires_at() = ToTimestamp(now + plan.ttl.count());
  record.pending = false;
  record.expiry_timer =
      shard_.RunAfter(plan.ttl, [def = def_, id] { Here(def).ExpireReservation(id); });
  NotifyWaiters(record, Status());
  return reservation;
}

void InventoryHandler::NotifyWaiters(ReservationRecord& record, const Status& status) {
  for (const ReserveWaiter& waiter : record.waiters) {
    v1::Reservation reservation;
    if (status.ok()) reservation = record.reservation;
    runtime_.SubmitTo(waiter.shard, [def = def_, token = waiter.token, status,
                                     reservation = std::move(reservation)]() mutable {
      Here(def).ResumeWaiter(token, status, std::move(reservation));
    });
  }
  record.waiters.clear();
}

void InventoryHandler::ResumeWaiter(uint64_t token, const Status& status,
                                    v1::Reservation reservation) {
  auto it = waiting_.find(token);
  if (it == waiting_.end()) return;
  Done<v1::Reservation> done = std::move(it->second);
  waiting_.erase(it);
  done(status, std::move(reservation));
}

void InventoryHandler::ExpireReservation(const std::string& id) {
  ReservationRecord* record = reservations_.Find(id);
  if (record == nullptr) return;
  record->expiry_timer = 0;  // this is it running
  if (record->reservation.state() != v1::Reservation::RESERVATION_STATE_HELD) return;
  MarkExpired(*record, NowNanos());
}

// HELD -> EXPIRED; the holds are returned to stock on their shards.
void InventoryHandler::MarkExpired(ReservationRecord& record, int64_t now) {
  if (record.expiry_timer != 0) {
    shard_.CancelTimer(record.expiry_timer);
    record.expiry_timer = 0;
  }
  v1::Reservation& reservation = record.reservation;
  reservation.set_state(v1::Reservation::RESERVATION_STATE_EXPIRED);
  *reservation.mutable_updated_at() = ToTimestamp(now);
  for (runtime::ShardId shard : ShardsOf(record.sorted_lines)) {
    runtime_.SubmitTo(shard, [def = def_, id = reservation.id(), now] {
      Here(def).stock().ReleaseHold(id, now);
    });
  }
}

void InventoryHandler::Commit(const v1::CommitReservationRequest& request,
                              Done<v1::Reservation> done) {
  SettleReservation(request.reservation_id(), Settle::kCommit, std::move(done));
}

void InventoryHandler::Release(const v1::ReleaseReservationRequest& request,
                               Done<v1::Reservation> done) {
  SettleReservation(request.reservation_id(), Settle::kRelease, std::move(done));
}

void InventoryHandler::SettleReservation(const std::string& id, Settle how,
                                         Done<v1::Reservation> done) {
  if (Status status = ParseReservationId(id); !status.ok()) {
    done(status, v1::Reservation());
    return;
  }
  runtime_.Hop(
      ShardOf(id), [def = def_, id, how] { return Here(def).DecideSettle(id, how); },
      [this, id, how, done = std::move(done)](SettleDecision decision) {
        if (!decision.status.ok()) {
          done(decision.status, v1::Reservation());
          return;
        }
        // The decision is final on the record's shard; the holds follow before the answer.
        internal::HopAll(
            runtime_, decision.shards,
            [def = def_, id, how, now = NowNanos()] {
              if (how == Settle::kCommit) {
                Here(def).stock().CommitHold(id, now);
              } else {
                Here(def).stock().ReleaseHold(id, now);
              }
            },
            [done, reservation = std::move(decision.reservation)] { done(Status(), reservation); });
      });
}

InventoryHandler::SettleDecision InventoryHandler::DecideSettle(const std::string& id, Settle how) {
  SettleDecision decision;
  ReservationRecord* record = reservations_.Find(id);
  if (record == nullptr || record->pending) {
    decision.status = ReservationNotFound(id);
    return decision;
  }
  v1::Reservation& reservation = record->reservation;
  int64_t now = NowNanos();
  if (reservation.state() == v1::Reservation::RESERVATION_STATE_HELD &&
      now >= TimeUtil::TimestampToNanoseconds(reservation.expires_at())) {
    MarkExpired(*record, now);  // its timer is late: the hold has run out all the same
  }
  auto target = how == Settle::kCommit ? v1::Reservation::RESERVATION_STATE_COMMITTED
                                       : v1::Reservation::RESERVATION_STATE_RELEASED;
  // A repeat: the first call settles the holds (a concurrent repeat may answer while it still
  // does; the outcome is decided either way).
  if (reservation.state() == target) {
    decision.reservation = reservation;
    return decision;
  }
  if (reservation.state() != v1::Reservation::RESERVATION_STATE_HELD) {
    decision.status =
        Status(StatusCode::kFailedPrecondition,
               "reservation " + id + " was " + StateWord(reservation.state()) +
                   "; it can no longer be " + (how == Settle::kCommit ? "committed" : "released"));
    return decision;
  }
  if (record->expiry_timer != 0) {
    shard_.CancelTimer(record->expiry_timer);
    record->expiry_timer = 0;
  }
  reservation.set_state(target);
  *reservation.mutable_updated_at() = ToTimestamp(now);
  decision.reservation = reservation;
  decision.shards = ShardsOf(record->sorted_lines);
  return decision;
}

}  // namespace percore::inventory
