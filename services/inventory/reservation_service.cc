// InventoryService's reservation operations: ReserveStock, CommitReservation,
// ReleaseReservation and expiry (the plan is in inventory_service.h; the state machine in
// reservation_book.h).

#include <algorithm>
#include <map>

#include "services/inventory/inventory_service.h"
#include "services/inventory/service_clock.h"

namespace percore::inventory {

using internal::NowNanos;

// One ReserveStock in flight, on the shard that serves it.
struct InventoryService::ReserveAttempt {
  ReservePlan plan;
  runtime::ShardId record_shard = 0;
  std::string id;
  // The lines by owning shard, ascending; `held` groups are held so far.
  std::vector<std::pair<runtime::ShardId, std::vector<Line>>> groups;
  size_t held = 0;
  std::map<std::string, commerce::v1::Money> prices;  // by SKU
  Done<v1::Reservation> done;
};

std::vector<runtime::ShardId> InventoryService::ShardsOf(const std::vector<Line>& lines) const {
  std::vector<runtime::ShardId> shards;
  for (const Line& line : lines) shards.push_back(OwnerOf(line.sku));
  std::sort(shards.begin(), shards.end());
  shards.erase(std::unique(shards.begin(), shards.end()), shards.end());
  return shards;
}

template <class Fn>
void InventoryService::OnEach(const std::vector<runtime::ShardId>& shards, Fn fn,
                              std::function<void()> then) {
  if (shards.empty()) {
    then();
    return;
  }
  // Both live on this shard only: each continuation runs here.
  auto remaining = std::make_shared<size_t>(shards.size());
  auto last = std::make_shared<std::function<void()>>(std::move(then));
  for (runtime::ShardId shard : shards) {
    shards_.InvokeOn(shard, fn, [remaining, last] {
      if (--*remaining == 0) (*last)();
    });
  }
}

void InventoryService::ReserveStock(const v1::ReserveStockRequest& request,
                                    Done<v1::Reservation> done) {
  Result<ReservePlan> plan = ValidateReserveStock(
      request, ReserveLimits{options_.default_reservation_ttl, options_.max_reservation_ttl,
                             options_.max_lines_per_reservation});
  if (!plan.ok()) {
    done(plan.status());
    return;
  }
  auto attempt = std::make_shared<ReserveAttempt>();
  attempt->plan = std::move(plan).value();
  attempt->record_shard = OwnerOf(attempt->plan.key);
  std::map<runtime::ShardId, std::vector<Line>> groups;
  for (const Line& line : attempt->plan.lines) groups[OwnerOf(line.sku)].push_back(line);
  attempt->groups.assign(groups.begin(), groups.end());

  // Parked before the hop: if the key is in flight, the key's shard answers this token later.
  InventoryShard& here = shards_.local();
  uint64_t token = here.Park(std::move(done));
  shards_.InvokeOn(
      attempt->record_shard,
      [this, key = attempt->plan.key, sorted = SortedLines(attempt->plan.lines),
       waiter = ReserveWaiter{here.shard.id(), token}](InventoryShard& owner) mutable {
        int64_t now = NowNanos();
        if (ReservationRecord* record = owner.reservations.FindByKey(key)) {
          // Its timer is late: report what is true now.
          std::string id = record->reservation.id();
          if (auto expired = owner.reservations.Expire(id, now)) ReleaseExpired(owner, *expired);
        }
        return owner.reservations.Begin(key, std::move(sorted), waiter, [&owner, this] {
          return owner.ids.Next(owner.shard.id(), shards_.size(), [&owner](const std::string& id) {
            return owner.reservations.Contains(id);
          });
        });
      },
      [this, attempt, token](Result<BeginOutcome> begin) {
        if (begin.ok() && begin->kind == BeginOutcome::kWait) return;  // a RunOn resumes it
        InventoryShard& here = shards_.local();
        Done<v1::Reservation> done = std::move(here.waiting.at(token));
        here.waiting.erase(token);
        if (!begin.ok()) {
          done(begin.status());
        } else if (begin->kind == BeginOutcome::kAnswer) {
          done(std::move(begin->reservation));
        } else {
          attempt->id = std::move(begin->id);
          attempt->done = std::move(done);
          HoldNext(std::move(attempt));
        }
      });
}

void InventoryService::HoldNext(std::shared_ptr<ReserveAttempt> attempt) {
  if (attempt->held == attempt->groups.size()) {
    CompleteReserve(std::move(attempt));
    return;
  }
  const auto& [shard, lines] = attempt->groups[attempt->held];
  shards_.InvokeOn(
      shard,
      [id = attempt->id, lines = lines, now = NowNanos()](InventoryShard& owner) {
        return owner.stock.Hold(id, lines, now);
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

void InventoryService::AbortReserve(std::shared_ptr<ReserveAttempt> attempt, Status status) {
  std::vector<runtime::ShardId> held;
  for (size_t i = 0; i < attempt->held; ++i) held.push_back(attempt->groups[i].first);
  // Undo every hold, then free the key, then answer: once the caller hears "no", nothing of
  // this reservation is held anywhere.
  OnEach(
      held,
      [id = attempt->id, now = NowNanos()](InventoryShard& owner) {
        owner.stock.ReleaseHold(id, now);
      },
      [this, attempt, status] {
        shards_.InvokeOn(
            attempt->record_shard,
            [this, id = attempt->id, status](InventoryShard& owner) {
              AnswerWaiters(owner.reservations.DropPending(id), status);
            },
            [attempt, status] { attempt->done(status); });
      });
}

void InventoryService::CompleteReserve(std::shared_ptr<ReserveAttempt> attempt) {
  std::vector<commerce::v1::Money> prices;
  for (const Line& line : attempt->plan.lines) prices.push_back(attempt->prices[line.sku]);
  shards_.InvokeOn(
      attempt->record_shard,
      [this, id = attempt->id, plan = attempt->plan,
       prices = std::move(prices)](InventoryShard& owner) {
        std::vector<ReserveWaiter> waiters =
            owner.reservations.Activate(id, plan, prices, NowNanos());
        owner.reservations.Find(id)->expiry_timer =
            owner.shard.RunAfter(plan.ttl, [this, &owner, id] { ExpireOnTimer(owner, id); });
        v1::Reservation reservation = owner.reservations.Find(id)->reservation;
        AnswerWaiters(waiters, reservation);
        return reservation;
      },
      [attempt](v1::Reservation reservation) { attempt->done(std::move(reservation)); });
}

void InventoryService::AnswerWaiters(const std::vector<ReserveWaiter>& waiters,
                                     const Result<v1::Reservation>& answer) {
  for (const ReserveWaiter& waiter : waiters) {
    shards_.RunOn(waiter.shard, [token = waiter.token, answer](InventoryShard& there) mutable {
      there.Resume(token, std::move(answer));
    });
  }
}

void InventoryService::ExpireOnTimer(InventoryShard& owner, const std::string& id) {
  if (auto expired = owner.reservations.Expire(id, NowNanos(), /*force=*/true)) {
    ReleaseExpired(owner, *expired);
  }
}

void InventoryService::ReleaseExpired(InventoryShard& owner, const Settlement& expired) {
  if (expired.cancel_timer != 0) owner.shard.CancelTimer(expired.cancel_timer);
  for (runtime::ShardId shard : ShardsOf(expired.lines)) {
    shards_.RunOn(shard, [id = expired.reservation.id(), now = NowNanos()](InventoryShard& there) {
      there.stock.ReleaseHold(id, now);
    });
  }
}

void InventoryService::CommitReservation(const v1::CommitReservationRequest& request,
                                         Done<v1::Reservation> done) {
  Settle(request.reservation_id(), SettleHow::kCommit, std::move(done));
}

void InventoryService::ReleaseReservation(const v1::ReleaseReservationRequest& request,
                                          Done<v1::Reservation> done) {
  Settle(request.reservation_id(), SettleHow::kRelease, std::move(done));
}

void InventoryService::Settle(const std::string& id, SettleHow how, Done<v1::Reservation> done) {
  if (Status status = ValidateReservationId(id); !status.ok()) {
    done(std::move(status));
    return;
  }
  shards_.InvokeOn(
      OwnerOf(id),
      [this, id, how](InventoryShard& owner) {
        int64_t now = NowNanos();
        // Its timer is late: the hold has run out all the same.
        if (auto expired = owner.reservations.Expire(id, now)) ReleaseExpired(owner, *expired);
        Result<Settlement> settled = owner.reservations.Settle(id, how, now);
        if (settled.ok() && settled->cancel_timer != 0) {
          owner.shard.CancelTimer(settled->cancel_timer);
        }
        return settled;
      },
      [this, id, how, done = std::move(done)](Result<Settlement> settled) {
        if (!settled.ok()) {
          done(settled.status());
          return;
        }
        // The decision is final on the record's shard; the holds follow before the answer.
        OnEach(
            ShardsOf(settled->lines),
            [id, how, now = NowNanos()](InventoryShard& owner) {
              if (how == SettleHow::kCommit) {
                owner.stock.CommitHold(id, now);
              } else {
                owner.stock.ReleaseHold(id, now);
              }
            },
            [done, reservation = std::move(settled->reservation)] { done(reservation); });
      });
}

}  // namespace percore::inventory
