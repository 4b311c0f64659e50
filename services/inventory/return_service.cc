// InventoryService's ReturnReservation: a committed reservation's units back in stock exactly
// once, however often it is asked and wherever a crash cuts it (the write order is in
// inventory_journal.h; the record's side of the state machine in reservation_book.h).
//
//   1. record shard: BeginReturn (COMMITTED, not already returning) -> `returning`, its lines;
//   2. each product shard: a pending return of its lines, durable (rows unchanged);
//   3. record shard: COMMITTED -> RETURNED, durable (the decision);
//   4. each product shard: the pending return applied to the rows, logged with them; answer.
// A crash before 3 leaves pending returns of a COMMITTED reservation: recovery drops them and the
// caller asks again. A crash after 3 leaves pending returns of a RETURNED one: recovery applies
// them. A repeat after 3 answers RETURNED and changes nothing.

#include <map>

#include "services/inventory/inventory_service.h"
#include "services/inventory/service_clock.h"

namespace percore::inventory {

using internal::NowNanos;

namespace {

// Step 4 on a product shard. While the log cannot take the record the pending return stays and
// is applied once it can (every second): applied rows without their record would be applied a
// second time by recovery. The decision is durable, so a crash meanwhile applies it at recovery.
void ApplyReturns(InventoryShard& owner, const std::string& id, int64_t now) {
  auto pending = owner.stock.returns().find(id);
  if (pending == owner.stock.returns().end()) return;  // applied already
  if (!owner.journal.CheckWritable().ok()) {
    owner.shard.RunAfter(std::chrono::seconds(1),
                         [&owner, id, now] { ApplyReturns(owner, id, now); });
    return;
  }
  std::vector<Line> lines = pending->second;
  owner.stock.ApplyReturn(id, now);
  owner.journal.LogWith(kReturnState, [&] {
    return EncodeHoldState({id, {}, owner.stock.LoadLines(lines)});
  });
}

}  // namespace

void InventoryService::ReturnReservation(const v1::ReturnReservationRequest& request,
                                         Done<v1::Reservation> done) {
  if (Status status = ValidateReservationId(request.reservation_id()); !status.ok()) {
    done(std::move(status));
    return;
  }
  ReturnOn(OwnerOf(request.reservation_id()), request.reservation_id(), std::move(done),
           /*followed=*/false);
}

void InventoryService::ReturnOn(runtime::ShardId shard, const std::string& id,
                                Done<v1::Reservation> done, bool followed) {
  using Begun = SettlementOnShard;
  shards_.InvokeOnAsync<Begun>(
      shard,
      [id, followed](InventoryShard& owner, auto reply) {
        if (std::optional<runtime::ShardId> moved = owner.MovedTo(id, followed)) {
          reply(Begun{Status(StatusCode::kNotFound, id), moved});
          return;
        }
        if (Status writable = owner.journal.CheckWritable(); !writable.ok()) {
          reply(Begun{std::move(writable), std::nullopt});
          return;
        }
        Result<Settlement> begun = owner.reservations.BeginReturn(id);
        if (begun.ok() && !begun->lines.empty()) {
          reply(Begun{std::move(begun), std::nullopt});
          return;
        }
        // A repeat (or a refusal) reports a record that may still be on its way to disk.
        owner.journal.AfterAllDurable([reply, begun = std::move(begun)](const Status& durable) {
          reply(durable.ok() ? Begun{begun, std::nullopt} : Begun{durable, std::nullopt});
        });
      },
      [this, shard, id, done = std::move(done)](Begun begun) mutable {
        if (begun.moved) {
          ReturnOn(*begun.moved, id, std::move(done), /*followed=*/true);
          return;
        }
        if (!begun.result.ok()) {
          done(begun.result.status());
        } else if (begun.result->lines.empty()) {
          done(std::move(begun.result->reservation));  // returned once already
        } else {
          PlaceReturns(shard, std::move(begun.result).value(), std::move(done));
        }
      });
}

void InventoryService::PlaceReturns(runtime::ShardId record_shard, Settlement settlement,
                                    Done<v1::Reservation> done) {
  std::map<runtime::ShardId, std::vector<Line>> groups;
  for (const Line& line : settlement.lines) groups[OwnerOf(line.sku)].push_back(line);
  // Both live on this shard only: each answer comes back here.
  struct Gather {
    size_t left;
    Status first_error;
    Done<v1::Reservation> done;
  };
  auto gather = std::make_shared<Gather>(Gather{groups.size(), Status(), std::move(done)});
  const std::string id = settlement.reservation.id();
  for (auto& [shard, lines] : groups) {
    shards_.InvokeOnAsync<Status>(
        shard,
        [id, lines = std::move(lines)](InventoryShard& owner, auto reply) mutable {
          if (Status writable = owner.journal.CheckWritable(); !writable.ok()) {
            reply(std::move(writable));
            return;
          }
          std::optional<durability::Lsn> lsn = owner.journal.LogWith(kReturnState, [&] {
            return EncodeHoldState({id, lines, {}});
          });
          owner.stock.PrepareReturn(id, std::move(lines));
          // Durable before the reservation is logged RETURNED (inventory_journal.h).
          owner.journal.AfterDurable(lsn, [reply](const Status& durable) { reply(durable); });
        },
        [this, gather, record_shard, id, lines = settlement.lines](Status placed) mutable {
          if (!placed.ok() && gather->first_error.ok()) gather->first_error = std::move(placed);
          if (--gather->left > 0) return;
          if (!gather->first_error.ok()) {
            // Not decided: it stays COMMITTED (the pending returns placed are dropped by a
            // recovery, or replaced by the next attempt).
            shards_.InvokeOn(
                record_shard, [id](InventoryShard& owner) { owner.reservations.AbortReturn(id); },
                [gather] { gather->done(gather->first_error); });
            return;
          }
          DecideReturn(record_shard, std::move(lines), std::move(gather->done), id);
        });
  }
}

void InventoryService::DecideReturn(runtime::ShardId record_shard, std::vector<Line> lines,
                                    Done<v1::Reservation> done, const std::string& id) {
  shards_.InvokeOnAsync<Result<v1::Reservation>>(
      record_shard,
      [id](InventoryShard& owner, auto reply) {
        if (Status writable = owner.journal.CheckWritable(); !writable.ok()) {
          owner.reservations.AbortReturn(id);
          reply(std::move(writable));
          return;
        }
        Settlement decided = owner.reservations.DecideReturn(id, NowNanos());
        std::optional<durability::Lsn> lsn = owner.journal.LogWith(
            kReservationPut, [&] { return decided.reservation.SerializeAsString(); });
        owner.journal.AfterDurable(
            lsn, [reply, reservation = std::move(decided.reservation)](const Status& durable) {
              reply(durable.ok() ? Result<v1::Reservation>(reservation)
                                 : Result<v1::Reservation>(durable));
            });
      },
      [this, id, lines = std::move(lines),
       done = std::move(done)](Result<v1::Reservation> decided) mutable {
        if (!decided.ok()) {
          done(decided.status());
          return;
        }
        // Decided: the pending returns are applied before the answer.
        std::map<runtime::ShardId, bool> shards;
        for (const Line& line : lines) shards[OwnerOf(line.sku)] = true;
        auto left = std::make_shared<size_t>(shards.size());
        auto finish = std::make_shared<std::function<void()>>(
            [done = std::move(done), reservation = std::move(decided).value()]() mutable {
              done(std::move(reservation));
            });
        for (const auto& [shard, unused] : shards) {
          shards_.InvokeOn(
              shard,
              [id, now = NowNanos()](InventoryShard& owner) { ApplyReturns(owner, id, now); },
              [left, finish] {
                if (--*left == 0) (*finish)();
              });
        }
      });
}

}  // namespace percore::inventory
