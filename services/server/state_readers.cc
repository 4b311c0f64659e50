#include "services/server/state_readers.h"

#include <string>

namespace percore::server {
namespace {

using observe::StateFamily;
using observe::StateSample;

void Rows(std::vector<StateSample>* out, const char* table, size_t rows) {
  out->push_back({StateFamily::kStorageRows, {{"table", table}}, static_cast<double>(rows)});
}

void Bytes(std::vector<StateSample>* out, const char* table, size_t bytes) {
  out->push_back({StateFamily::kStorageBytes, {{"table", table}}, static_cast<double>(bytes)});
}

void Streams(std::vector<StateSample>* out, const char* service, const char* method, size_t open) {
  out->push_back({StateFamily::kStreamsOpen,
                  {{"grpc_method", method}, {"grpc_service", service}},
                  static_cast<double>(open)});
}

// The log and snapshot series of a durable store's shard (nothing in memory-only mode).
void Wal(std::vector<StateSample>* out, const char* store, const durability::LogStats* stats) {
  if (stats == nullptr) return;
  auto add = [&](StateFamily family, double value, const char* result = nullptr) {
    StateSample& sample = out->emplace_back(StateSample{family, {{"store", store}}, value});
    if (result != nullptr) sample.labels.emplace_back("result", result);
  };
  add(StateFamily::kWalBytes, static_cast<double>(stats->bytes_logged));
  add(StateFamily::kWalFsyncs, static_cast<double>(stats->fsyncs));
  add(StateFamily::kWalFsyncSeconds, static_cast<double>(stats->fsync_nanos) / 1e9);
  add(StateFamily::kSnapshots, static_cast<double>(stats->snapshots), "ok");
  add(StateFamily::kSnapshots, static_cast<double>(stats->snapshot_failures), "failed");
  add(StateFamily::kSnapshotLastTimestamp,
      static_cast<double>(stats->last_snapshot_unix_nanos) / 1e9);
  add(StateFamily::kSnapshotLastBytes, static_cast<double>(stats->last_snapshot_bytes));
}

}  // namespace

StateReader UserStateReader(std::shared_ptr<user::UserService> service,
                            std::shared_ptr<user::UserHandler::Def> def) {
  return [service, def](runtime::Shard& shard, std::vector<StateSample>* out) {
    if (service->shards().has(shard)) {
      const user::UserPartition& users = service->shards().on(shard).partition;
      Rows(out, "users", users.size());
      Bytes(out, "users", users.bytes());
      Wal(out, "users", service->shards().on(shard).journal.stats());
    }
    if (const user::UserHandler* handler = def->local_if_any(shard)) {
      Streams(out, "user.v1.UserService", "WatchUserUpdates", handler->watch_count());
    }
  };
}

StateReader InventoryStateReader(std::shared_ptr<inventory::InventoryService> service) {
  return [service](runtime::Shard& shard, std::vector<StateSample>* out) {
    if (!service->shards().has(shard)) return;
    const inventory::InventoryShard& mine = service->shards().on(shard);
    Rows(out, "products", mine.stock.size());
    Bytes(out, "products", mine.stock.bytes());
    Rows(out, "reservations", mine.reservations.size());
    out->push_back(
        {StateFamily::kReservationsHeld, {}, static_cast<double>(mine.reservations.held())});
    Wal(out, "inventory", mine.journal.stats());
  };
}

StateReader PaymentStateReader(std::shared_ptr<payment::PaymentService> service) {
  return [service](runtime::Shard& shard, std::vector<StateSample>* out) {
    if (!service->shards().has(shard)) return;
    Rows(out, "payments", service->shards().on(shard).ledger.size());
    Wal(out, "payments", service->shards().on(shard).journal.stats());
  };
}

StateReader OrderStateReader(std::shared_ptr<order::OrderHandler::Def> def,
                             std::shared_ptr<order::OrderJournals> journals) {
  return [def, journals](runtime::Shard& shard, std::vector<StateSample>* out) {
    if (journals) {
      if (durability::StoreJournal* journal = journals->journal(shard.id())) {
        Wal(out, "orders", journal->stats());
      }
    }
    order::OrderHandler* handler = def->local_if_any(shard);
    if (handler == nullptr) return;
    const order::OrderStore& store = handler->store();
    Rows(out, "orders", store.size());
    Bytes(out, "orders", store.bytes());
    Streams(out, "order.v1.OrderService", "WatchOrderUpdates", handler->watch_count());
    Streams(out, "order.v1.OrderService", "ChatSession", handler->chat_count());
    out->push_back({StateFamily::kCompensationsPending,
                    {},
                    static_cast<double>(handler->compensations_pending())});
    // Every final status and failure code, zero included, so rate() sees the first one.
    auto finished = [&](order::v1::OrderStatus status, order::v1::FailureCode code) {
      std::string code_name =
          code == order::v1::FAILURE_CODE_UNSPECIFIED
              ? "NONE"
              : order::v1::FailureCode_Name(code).substr(sizeof("FAILURE_CODE_") - 1);
      out->push_back(
          {StateFamily::kOrdersFinished,
           {{"failure_code", code_name},
            {"status", order::v1::OrderStatus_Name(status).substr(sizeof("ORDER_STATUS_") - 1)}},
           static_cast<double>(store.transitions(status, code))});
    };
    finished(order::v1::ORDER_STATUS_CONFIRMED, order::v1::FAILURE_CODE_UNSPECIFIED);
    finished(order::v1::ORDER_STATUS_CANCELLED, order::v1::FAILURE_CODE_UNSPECIFIED);
    for (int code = 1; code < order::v1::FailureCode_ARRAYSIZE; ++code) {
      if (!order::v1::FailureCode_IsValid(code)) continue;
      finished(order::v1::ORDER_STATUS_FAILED, static_cast<order::v1::FailureCode>(code));
    }
  };
}

}  // namespace percore::server
