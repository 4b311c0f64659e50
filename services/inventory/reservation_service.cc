// InventoryService's reservation operations: ReserveStock, CommitReservation,
// ReleaseReservation and expiry (the plan is in inventory_service.h; the state machine in
// reservation_book.h).

#include <algorithm>

#include "services/inventory/inventory_service.h"
#include "services/inventory/service_clock.h"

namespace percore::inventory {

using internal::NowNanos;

namespace {

// Settles a reservation's holds on this product shard, and logs the hold's end and the rows it
// changed, whole. While the log cannot be written the hold stays and is settled once it can be
// (every second): a settled hold whose record were missing would be settled a second time by
// recovery over rows that already count it. The decision is durable on the record's shard, so a
// crash meanwhile settles it at recovery.
void EndHolds(InventoryShard& owner, const std::string& id, bool sold, int64_t now) {
  auto held = owner.stock.holds().find(id);
  if (held == owner.stock.holds().end()) return;  // never held here, or settled already
  if (!owner.journal.CheckWritable().ok()) {
    owner.shard.RunAfter(std::chrono::seconds(1),
                         [&owner, id, sold, now] { EndHolds(owner, id, sold, now); });
    return;
  }
  std::vector<Line> lines;
  if (owner.journal.enabled()) lines = held->second;  // the rows to log, once changed
  if (sold) {
    owner.stock.CommitHold(id, now);
  } else {
    owner.stock.ReleaseHold(id, now);
  }
  owner.journal.LogWith(kHoldState, [&] {
    return EncodeHoldState({id, {}, owner.stock.LoadLines(lines)});
  });
}

// True on `owner`'s own thread: a durable callback that runs from Close() (after the shards
// stopped) must not hop anywhere.
bool Serving(const InventoryShard& owner) { return runtime::Shard::Current() == &owner.shard; }

}  // namespace

// One ReserveStock in flight, on the shard that serves it.
struct InventoryService::ReserveAttempt {
  ReservePlan plan;
  runtime::ShardId record_shard = 0;
  std::string id;
  // The lines by owning shard, ascending, each group as its lines' places in plan.lines
  // (request order); `held` groups are held so far.
  struct Group {
    runtime::ShardId shard;
    std::vector<size_t> at;
  };
  std::vector<Group> groups;
  size_t held = 0;
  std::vector<commerce::v1::Money> prices;  // by place in plan.lines, once held
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
  if (shards.size() == 1) {  // nothing to count: fn moves there, then() follows it
    shards_.InvokeOn(shards.front(), std::move(fn), std::move(then));
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
  std::vector<ReserveAttempt::Group>& groups = attempt->groups;
  for (size_t i = 0; i < attempt->plan.lines.size(); ++i) {
    runtime::ShardId shard = OwnerOf(attempt->plan.lines[i].sku);
    auto group = std::find_if(groups.begin(), groups.end(),
                              [shard](const ReserveAttempt::Group& g) { return g.shard == shard; });
    if (group == groups.end()) group = groups.insert(groups.end(), {shard, {}});
    group->at.push_back(i);
  }
  std::sort(groups.begin(), groups.end(),
            [](const ReserveAttempt::Group& a, const ReserveAttempt::Group& b) {
              return a.shard < b.shard;
            });
  attempt->prices.resize(attempt->plan.lines.size());

  // Parked before the hop: if the key is in flight, the key's shard answers this token later.
  InventoryShard& here = shards_.local();
  uint64_t token = here.Park(std::move(done));
  shards_.InvokeOnAsync<Result<BeginOutcome>>(
      attempt->record_shard,
      [this, key = attempt->plan.key, sorted = SortedLines(attempt->plan.lines),
       waiter = ReserveWaiter{here.shard.id(), token}](InventoryShard& owner, auto reply) mutable {
        if (Status writable = owner.journal.CheckWritable(); !writable.ok()) {
          reply(std::move(writable));
          return;
        }
        if (ReservationRecord* record = owner.reservations.FindByKey(key)) {
          // Its timer is late: report what is true now.
          std::string id = record->reservation.id();
          ExpireIfDue(owner, id, /*force=*/false);
        }
        Result<BeginOutcome> begin =
            owner.reservations.Begin(key, std::move(sorted), waiter, [&owner, this] {
              return owner.ids.Next(
                  owner.shard.id(), shards_.size(), [&owner](const std::string& id) {
                    return owner.reservations.Contains(id) || owner.moved.contains(id);
                  });
            });
        if (begin.ok() && begin->kind == BeginOutcome::kStart) {
          reply(std::move(begin));
          return;
        }
        // A repeat reports a reservation whose record may still be on its way to disk.
        owner.journal.AfterAllDurable([reply, begin](const Status& durable) {
          if (!durable.ok()) {
            reply(durable);
          } else {
            reply(begin);
          }
        });
      },
      [this, attempt, token](Result<BeginOutcome>&& begin) {
        if (begin.ok() && begin->kind == BeginOutcome::kWait) return;  // a RunOn resumes it
        InventoryShard& here = shards_.local();
        Done<v1::Reservation> done = std::move(here.waiting.at(token));
        here.waiting.erase(token);
        if (!begin.ok()) {
          done(begin.status());
        } else if (begin->kind == BeginOutcome::kAnswer) {
          done(std::move(*begin->reservation));
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
  const ReserveAttempt::Group& group = attempt->groups[attempt->held];
  std::vector<Line> lines;
  lines.reserve(group.at.size());
  for (size_t i : group.at) lines.push_back(attempt->plan.lines[i]);
  using Prices = Result<std::vector<commerce::v1::Money>>;
  shards_.InvokeOnAsync<Prices>(
      group.shard,
      [id = attempt->id, lines = std::move(lines), now = NowNanos()](InventoryShard& owner,
                                                                     auto reply) {
        if (Status writable = owner.journal.CheckWritable(); !writable.ok()) {
          reply(std::move(writable));
          return;
        }
        Prices prices = owner.stock.Hold(id, lines, now);
        if (!prices.ok()) {
          reply(std::move(prices));
          return;
        }
        // Durable before the reservation is logged HELD (inventory_journal.h).
        std::optional<durability::Lsn> lsn = owner.journal.LogWith(kHoldState, [&] {
          return EncodeHoldState({id, lines, owner.stock.LoadLines(lines)});
        });
        // No record to wait for (no data directory; AfterDurable would answer at once): answered
        // without a callback holding the prices (an allocation and copies, per order).
        if (!lsn) {
          reply(std::move(prices));
          return;
        }
        owner.journal.AfterDurable(lsn, [&owner, id, now, reply, prices = std::move(prices)](
                                            const Status& durable) mutable {  // run once
          if (!durable.ok()) {
            owner.stock.ReleaseHold(id, now);  // not counted as held: the abort skips it
            reply(durable);
          } else {
            reply(std::move(prices));
          }
        });
      },
      [this, attempt](Result<std::vector<commerce::v1::Money>>&& prices) {
        if (!prices.ok()) {
          AbortReserve(attempt, prices.status());
          return;
        }
        const std::vector<size_t>& at = attempt->groups[attempt->held].at;
        for (size_t i = 0; i < at.size(); ++i) attempt->prices[at[i]] = std::move((*prices)[i]);
        ++attempt->held;
        HoldNext(attempt);
      });
}

void InventoryService::AbortReserve(std::shared_ptr<ReserveAttempt> attempt, Status status) {
  std::vector<runtime::ShardId> held;
  for (size_t i = 0; i < attempt->held; ++i) held.push_back(attempt->groups[i].shard);
  // Undo every hold, then free the key, then answer: once the caller hears "no", nothing of
  // this reservation is held anywhere.
  OnEach(
      held,
      [id = attempt->id, now = NowNanos()](InventoryShard& owner) {
        EndHolds(owner, id, /*sold=*/false, now);
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
  struct Completed {
    Result<v1::Reservation> reservation;
    bool abort = false;  // still pending: the log refused it, so the holds are undone
  };
  shards_.InvokeOnAsync<Completed>(
      attempt->record_shard,
      // The plan and the prices move: an abort needs neither.
      [this, id = attempt->id, plan = std::move(attempt->plan),
       prices = std::move(attempt->prices)](InventoryShard& owner, auto reply) {
        if (Status writable = owner.journal.CheckWritable(); !writable.ok()) {
          reply(Completed{std::move(writable), true});
          return;
        }
        std::vector<ReserveWaiter> waiters =
            owner.reservations.Activate(id, plan, prices, NowNanos());
        ReservationRecord& record = *owner.reservations.Find(id);  // Activate made it HELD
        ArmExpiry(owner, record, plan.ttl);
        auto answer = [this, &owner, reply,
                       waiters = std::move(waiters)](Result<v1::Reservation>&& answer) {
          if (Serving(owner)) AnswerWaiters(waiters, answer);
          reply(Completed{std::move(answer)});
        };
        std::optional<durability::Lsn> lsn = owner.journal.LogWith(
            kReservationPut, [&] { return record.reservation.SerializeAsString(); });
        if (!lsn) {  // nothing to wait for: the record copied straight into the answer
          answer(Result<v1::Reservation>(record.reservation));
          return;
        }
        // The answer is the record as it is now (its timer may expire it before it is durable).
        owner.journal.AfterDurable(
            lsn, [answer = std::move(answer),
                  reservation = record.reservation](const Status& durable) mutable {
              // Run once: the reservation moves into the answer (no copy per hand-over).
              answer(durable.ok() ? Result<v1::Reservation>(std::move(reservation))
                                  : Result<v1::Reservation>(durable));
            });
      },
      [this, attempt](Completed&& completed) {
        if (completed.abort) {
          AbortReserve(attempt, completed.reservation.status());
        } else {
          attempt->done(std::move(completed.reservation));
        }
      });
}

void InventoryService::AnswerWaiters(const std::vector<ReserveWaiter>& waiters,
                                     const Result<v1::Reservation>& answer) {
  for (const ReserveWaiter& waiter : waiters) {
    shards_.RunOn(waiter.shard, [token = waiter.token, answer](InventoryShard& there) mutable {
      there.Resume(token, std::move(answer));
    });
  }
}

void InventoryService::ArmExpiry(InventoryShard& owner, ReservationRecord& record,
                                 std::chrono::nanoseconds after) {
  record.expiry_timer = owner.shard.RunAfter(
      after, [this, &owner, id = record.reservation.id()] { ExpireOnTimer(owner, id); });
}

void InventoryService::ExpireOnTimer(InventoryShard& owner, const std::string& id) {
  ExpireIfDue(owner, id, /*force=*/true);
}

void InventoryService::ExpireIfDue(InventoryShard& owner, const std::string& id, bool force) {
  ReservationRecord* record = owner.reservations.Find(id);
  if (record == nullptr) return;
  if (force) record->expiry_timer = 0;  // it is that timer running
  if (!owner.journal.CheckWritable().ok()) {
    // The expiry cannot be logged yet: it stays HELD, and its timer tries again.
    if (force && !record->pending &&
        record->reservation.state() == v1::Reservation::RESERVATION_STATE_HELD) {
      ArmExpiry(owner, *record, std::chrono::seconds(1));
    }
    return;
  }
  std::optional<Settlement> expired = owner.reservations.Expire(*record, NowNanos(), force);
  if (!expired) return;
  if (expired->cancel_timer != 0) owner.shard.CancelTimer(expired->cancel_timer);
  std::optional<durability::Lsn> lsn = owner.journal.LogWith(
      kReservationPut, [&] { return expired->reservation.SerializeAsString(); });
  owner.journal.AfterDurable(lsn, [this, &owner, expired = *expired](const Status& durable) {
    if (durable.ok() && Serving(owner)) ReleaseExpired(owner, expired);
  });
}

void InventoryService::ReleaseExpired(InventoryShard& /*owner*/, const Settlement& expired) {
  for (runtime::ShardId shard : ShardsOf(expired.lines)) {
    shards_.RunOn(shard, [id = expired.reservation.id(), now = NowNanos()](InventoryShard& there) {
      EndHolds(there, id, /*sold=*/false, now);
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
  SettleOn(OwnerOf(id), id, how, std::move(done), /*followed=*/false);
}

void InventoryService::SettleOn(runtime::ShardId shard, const std::string& id, SettleHow how,
                                Done<v1::Reservation> done, bool followed) {
  using Decided = SettlementOnShard;
  // `id = id`, not `id`: a plain capture of a const& is a const member, copied (not moved) at
  // each of the closure's moves through the hop (~8 string copies per call).
  shards_.InvokeOnAsync<Decided>(
      shard,
      [this, id = id, how, followed](InventoryShard& owner, auto reply) {
        if (std::optional<runtime::ShardId> moved = owner.MovedTo(id, followed)) {
          reply(Decided{Status(StatusCode::kNotFound, id), moved});
          return;
        }
        if (Status writable = owner.journal.CheckWritable(); !writable.ok()) {
          reply(Decided{std::move(writable)});
          return;
        }
        // Its timer is late: the hold has run out all the same.
        ExpireIfDue(owner, id, /*force=*/false);
        Result<Settlement> settled = owner.reservations.Settle(id, how, NowNanos());
        if (settled.ok() && settled->cancel_timer != 0) {
          owner.shard.CancelTimer(settled->cancel_timer);
        }
        const bool decided = settled.ok() && !settled->lines.empty();
        std::optional<durability::Lsn> lsn;
        if (decided) {
          lsn = owner.journal.LogWith(kReservationPut,
                                      [&] { return settled->reservation.SerializeAsString(); });
          if (!lsn) {  // nothing to wait for: answered without a callback holding the settlement
            reply(Decided{std::move(settled)});
            return;
          }
        }
        // Run once: the settlement moves into the answer (no copy per hand-over).
        auto answer = [reply, settled = std::move(settled)](const Status& durable) mutable {
          if (!durable.ok()) {
            reply(Decided{durable});
          } else {
            reply(Decided{std::move(settled)});
          }
        };
        if (decided) {
          // The decision is durable before any hold follows it (inventory_journal.h).
          owner.journal.AfterDurable(lsn, std::move(answer));
        } else {
          owner.journal.AfterAllDurable(std::move(answer));  // a repeat, or a refusal
        }
      },
      [this, id = id, how, done = std::move(done)](Decided&& decided) mutable {
        if (decided.moved) {
          SettleOn(*decided.moved, id, how, std::move(done), /*followed=*/true);
          return;
        }
        Result<Settlement>& settled = decided.result;
        if (!settled.ok()) {
          done(settled.status());
          return;
        }
        // The decision is final on the record's shard; the holds follow before the answer.
        OnEach(
            ShardsOf(settled->lines),
            [id, how, now = NowNanos()](InventoryShard& owner) {
              EndHolds(owner, id, /*sold=*/how == SettleHow::kCommit, now);
            },
            [done = std::move(done), reservation = std::move(settled->reservation)]() mutable {
              done(std::move(reservation));  // run once
            });
      });
}

}  // namespace percore::inventory
