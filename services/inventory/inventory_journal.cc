#include "services/inventory/inventory_journal.h"

#include <chrono>
#include <map>

#include "core/durability/record_codec.h"
#include "core/runtime/shard_for.h"
#include "services/inventory/reservation_book.h"
#include "services/inventory/stock_partition.h"

namespace percore::inventory {

std::string EncodeHold(const HoldRecord& hold) {
  durability::RecordEncoder out;
  out.Str(hold.reservation_id).I64(hold.now).U32(static_cast<uint32_t>(hold.lines.size()));
  for (const Line& line : hold.lines) out.Str(line.sku).I64(line.quantity);
  return out.Take();
}

bool DecodeHold(std::string_view payload, HoldRecord* hold) {
  durability::RecordDecoder in(payload);
  uint32_t count = 0;
  if (!in.Str(&hold->reservation_id) || !in.I64(&hold->now) || !in.U32(&count)) return false;
  hold->lines.clear();
  for (uint32_t i = 0; i < count; ++i) {
    Line line;
    if (!in.Str(&line.sku) || !in.I64(&line.quantity)) return false;
    hold->lines.push_back(std::move(line));
  }
  return in.rest().empty();
}

std::string EncodeHoldState(const HoldState& state) {
  durability::RecordEncoder out;
  out.Str(state.reservation_id).U32(static_cast<uint32_t>(state.lines.size()));
  for (const Line& line : state.lines) out.Str(line.sku).I64(line.quantity);
  out.U32(static_cast<uint32_t>(state.rows.size()));
  for (const v1::Product& row : state.rows) out.Str(row.SerializeAsString());
  return out.Take();
}

bool DecodeHoldState(std::string_view payload, HoldState* state) {
  durability::RecordDecoder in(payload);
  uint32_t count = 0;
  if (!in.Str(&state->reservation_id) || !in.U32(&count)) return false;
  state->lines.clear();
  for (uint32_t i = 0; i < count; ++i) {
    Line line;
    if (!in.Str(&line.sku) || !in.I64(&line.quantity)) return false;
    state->lines.push_back(std::move(line));
  }
  if (!in.U32(&count)) return false;
  state->rows.clear();
  for (uint32_t i = 0; i < count; ++i) {
    std::string bytes;
    v1::Product row;
    if (!in.Str(&bytes) || !row.ParseFromString(bytes)) return false;
    state->rows.push_back(std::move(row));
  }
  return in.rest().empty();
}

namespace {

using ReservationState = v1::Reservation::ReservationState;

// One old shard's store, rebuilt by replaying its records in order.
struct Replayed {
  StockPartition stock;
};

Status Apply(Replayed& shard, std::map<std::string, v1::Reservation>& reservations, uint32_t type,
             std::string_view payload) {
  auto damaged = [type] {
    return Status(StatusCode::kDataLoss,
                  "a damaged inventory record (type " + std::to_string(type) + ")");
  };
  switch (type) {
    case kProductPut: {
      v1::Product product;
      if (!product.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
        return damaged();
      }
      shard.stock.RestoreRow(product);
      return Status();
    }
    case kHold:
    case kHoldRestore:
    case kHoldCommit:
    case kHoldRelease: {
      HoldRecord hold;
      if (!DecodeHold(payload, &hold)) return damaged();
      if (type == kHold) {
        // It succeeded when logged, on this same state: it succeeds again.
        Result<std::vector<commerce::v1::Money>> held =
            shard.stock.Hold(hold.reservation_id, hold.lines, hold.now);
        if (!held.ok())
          return Status(StatusCode::kDataLoss,
                        "a hold does not replay: " + held.status().message());
      } else if (type == kHoldRestore) {
        shard.stock.RestoreHold(hold.reservation_id, hold.lines);
      } else if (type == kHoldCommit) {
        shard.stock.CommitHold(hold.reservation_id, hold.now);
      } else {
        shard.stock.ReleaseHold(hold.reservation_id, hold.now);
      }
      return Status();
    }
    case kHoldState: {
      HoldState state;
      if (!DecodeHoldState(payload, &state)) return damaged();
      for (const v1::Product& row : state.rows) shard.stock.RestoreRow(row);
      shard.stock.SetHold(state.reservation_id, std::move(state.lines));
      return Status();
    }
    case kReturnState: {
      HoldState state;
      if (!DecodeHoldState(payload, &state)) return damaged();
      for (const v1::Product& row : state.rows) shard.stock.RestoreRow(row);
      shard.stock.SetReturn(state.reservation_id, std::move(state.lines));
      return Status();
    }
    case kReservationPut: {
      v1::Reservation reservation;
      if (!reservation.ParseFromArray(payload.data(), static_cast<int>(payload.size())) ||
          reservation.id().empty()) {
        return damaged();
      }
      reservations[reservation.id()] = std::move(reservation);
      return Status();
    }
    case kReservationDrop:
      reservations.erase(std::string(payload));
      return Status();
    default:
      return Status(StatusCode::kDataLoss,
                    "a record percore does not know (type " + std::to_string(type) + ")");
  }
}

}  // namespace

Result<std::vector<InventoryRestore>> RecoverInventory(const durability::DurabilityConfig& config,
                                                       size_t shards, int64_t now,
                                                       std::string* report) {
  std::map<uint32_t, Replayed> old_shards;
  std::map<std::string, v1::Reservation> reservations;  // by id
  durability::ReplayStats stats;
  Result<durability::GenerationDir> dir = durability::ReplayStore(
      config, "inventory",
      [&](uint32_t shard, uint32_t type, std::string_view payload) {
        return Apply(old_shards[shard], reservations, type, payload);
      },
      report, &stats);
  if (!dir.ok()) return dir.status();

  // Reconcile: a hold stays only while its reservation is HELD. The decision was durable before
  // any hold was settled, so what is left follows it; no record at all is a ReserveStock the
  // crash cut short, never acknowledged.
  uint64_t committed = 0, released = 0;
  for (auto& [old, replayed] : old_shards) {
    std::vector<std::string> ids;
    for (const auto& [id, lines] : replayed.stock.holds()) ids.push_back(id);
    for (const std::string& id : ids) {
      auto it = reservations.find(id);
      ReservationState state = it == reservations.end()
                                   ? v1::Reservation::RESERVATION_STATE_UNSPECIFIED
                                   : it->second.state();
      if (state == v1::Reservation::RESERVATION_STATE_HELD) continue;
      if (state == v1::Reservation::RESERVATION_STATE_COMMITTED) {
        replayed.stock.CommitHold(id, now);
        ++committed;
      } else {
        replayed.stock.ReleaseHold(id, now);
        ++released;
      }
    }
  }
  if (committed + released > 0) {
    *report += "inventory: settled holds the crash left behind: " + std::to_string(committed) +
               " committed, " + std::to_string(released) + " released\n";
  }

  // Pending returns: applied when their reservation was decided RETURNED (the decision was
  // durable before any was applied), dropped otherwise (never decided: its caller asks again).
  uint64_t returned = 0, undecided = 0;
  for (auto& [old, replayed] : old_shards) {
    std::vector<std::string> ids;
    for (const auto& [id, lines] : replayed.stock.returns()) ids.push_back(id);
    for (const std::string& id : ids) {
      auto it = reservations.find(id);
      if (it != reservations.end() &&
          it->second.state() == v1::Reservation::RESERVATION_STATE_RETURNED) {
        replayed.stock.ApplyReturn(id, now);
        ++returned;
      } else {
        replayed.stock.SetReturn(id, {});
        ++undecided;
      }
    }
  }
  if (returned + undecided > 0) {
    *report +=
        "inventory: pending stock returns the crash left behind: " + std::to_string(returned) +
        " applied, " + std::to_string(undecided) + " never decided (dropped)\n";
  }

  // Retention: ended reservations past it are not resurrected (after the reconciliation, which
  // needs their decision).
  size_t forgotten = 0;
  if (config.idempotency_retention.count() > 0) {
    const int64_t cutoff = now - std::chrono::nanoseconds(config.idempotency_retention).count();
    forgotten = std::erase_if(reservations, [cutoff](const auto& entry) {
      return ReservationBook::Forgettable(entry.second, cutoff);
    });
  }

  // Place everything for today's shard count.
  std::vector<InventoryRestore> restore(shards);
  std::vector<std::vector<durability::SnapshotRecord>> snapshots(shards);
  size_t products = 0, holds = 0;
  for (auto& [old, replayed] : old_shards) {
    for (auto& [sku, product] : replayed.stock.ScanAfter(nullptr, replayed.stock.size())) {
      size_t shard = runtime::ShardFor(sku, shards);
      snapshots[shard].emplace_back(kProductPut, product.SerializeAsString());
      restore[shard].products.push_back(std::move(product));
      ++products;
    }
    for (const auto& [id, lines] : replayed.stock.holds()) {
      std::map<size_t, std::vector<Line>> by_shard;
      for (const Line& line : lines) by_shard[runtime::ShardFor(line.sku, shards)].push_back(line);
      for (auto& [shard, part] : by_shard) {
        snapshots[shard].emplace_back(kHoldRestore, EncodeHold({id, 0, part}));
        restore[shard].holds.emplace_back(id, std::move(part));
      }
      ++holds;
    }
  }
  for (auto& [id, reservation] : reservations) {
    size_t shard = runtime::ShardFor(reservation.reservation_key(), shards);
    size_t id_shard = runtime::ShardFor(id, shards);
    if (id_shard != shard) restore[id_shard].moved.emplace(id, shard);
    snapshots[shard].emplace_back(kReservationPut, reservation.SerializeAsString());
    restore[shard].reservations.push_back(std::move(reservation));
  }

  Result<std::vector<durability::LogFile>> logs = WriteNextGeneration(*dir, snapshots);
  if (!logs.ok()) return logs.status();
  for (size_t shard = 0; shard < shards; ++shard) restore[shard].log = std::move((*logs)[shard]);
  *report += "inventory: recovered " + std::to_string(products) + " products, " +
             std::to_string(holds) + " open holds and " + std::to_string(reservations.size()) +
             " reservations (" + std::to_string(forgotten) + " past retention dropped) from " +
             std::to_string(stats.records) + " records for " + std::to_string(shards) + " shards\n";
  return restore;
}

}  // namespace percore::inventory
