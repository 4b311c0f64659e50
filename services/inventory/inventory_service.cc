// InventoryService: products, ListProducts and the clients::InventoryClient face (the
// reservations are in reservation_service.cc; the plan in inventory_service.h).

#include "services/inventory/inventory_service.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <random>

#include "core/durability/retention_sweep.h"
#include "core/storage/merge_cursor.h"
#include "services/inventory/service_clock.h"

namespace percore::inventory {
namespace {

// A client's `done` as the service API's.
template <class T>
Done<T> ClientDone(clients::Done<T> done) {
  return [done = std::move(done)](Result<T>&& result) {
    if (result.ok()) {
      done(Status(), std::move(result).value());
    } else {
      done(result.status(), T());
    }
  };
}

}  // namespace

InventoryShard::InventoryShard(runtime::Shard& shard)
    : shard(shard), ids(std::random_device{}() ^ (uint64_t{shard.id()} << 32)) {}

uint64_t InventoryShard::Park(Done<v1::Reservation> done) {
  uint64_t token = next_wait_token++;
  waiting.emplace(token, std::move(done));
  return token;
}

void InventoryShard::Resume(uint64_t token, Result<v1::Reservation> answer) {
  auto it = waiting.find(token);
  if (it == waiting.end()) return;
  Done<v1::Reservation> done = std::move(it->second);
  waiting.erase(it);
  done(std::move(answer));
}

Status InventoryService::Recover(size_t shards, std::string* report) {
  Result<std::vector<InventoryRestore>> restore =
      RecoverInventory(options_.durability, shards, internal::NowNanos(), report);
  if (!restore.ok()) return restore.status();
  restore_ = std::move(*restore);
  return Status();
}

void InventoryService::CloseJournals() {
  shards_.ForEachAfterStop([](InventoryShard& shard) { shard.journal.Close(); });
}

void InventoryService::StartShard(runtime::Shard& shard) {
  InventoryShard& mine = shards_.Emplace(shard, std::make_unique<InventoryShard>(shard));
  // Ended reservations are forgotten after --idempotency-retention, their keys free again.
  durability::StartJournaledRetentionSweep(
      shard, options_.durability.idempotency_retention, mine.journal, kReservationDrop,
      [&mine](int64_t cutoff, std::vector<std::string>* dropped) {
        return mine.reservations.ForgetEnded(cutoff, durability::kRetentionSlice,
                                             &mine.retention_cursor, dropped);
      });
  if (shard.id() >= restore_.size()) return;
  InventoryRestore restore = std::move(restore_[shard.id()]);
  for (const v1::Product& product : restore.products) mine.stock.RestoreRow(product);
  for (const auto& [id, lines] : restore.holds) mine.stock.RestoreHold(id, lines);
  int64_t now = internal::NowNanos();
  for (const v1::Reservation& reservation : restore.reservations) {
    ReservationRecord& record = mine.reservations.Restore(reservation);
    if (reservation.state() == v1::Reservation::RESERVATION_STATE_HELD) {
      // A held reservation keeps its expiry: its timer is armed again (at once when overdue).
      int64_t left =
          google::protobuf::util::TimeUtil::TimestampToNanoseconds(reservation.expires_at()) - now;
      ArmExpiry(mine, record, std::chrono::nanoseconds(std::max<int64_t>(left, 0)));
    }
  }
  mine.moved = std::move(restore.moved);
  if (restore.log) {
    mine.journal.Start(shard, std::move(*restore.log), options_.durability.fsync);
    mine.journal.EnableSnapshots(&mine.snapshot_source, options_.durability.snapshot);
  }
}

// A product write on its owner: refused while the log cannot be written, answered once durable.
template <class Change>
static void WriteProduct(InventoryShard& owner, Change change,
                         std::function<void(Result<v1::Product>)> reply) {
  if (Status writable = owner.journal.CheckWritable(); !writable.ok()) {
    reply(std::move(writable));
    return;
  }
  Result<v1::Product> product = change(owner.stock);
  if (!product.ok()) {
    owner.journal.AfterAllDurable([reply, product](const Status&) { reply(product); });
    return;
  }
  std::optional<durability::Lsn> lsn =
      owner.journal.LogWith(kProductPut, [&] { return product->SerializeAsString(); });
  owner.journal.AfterDurable(lsn, [reply, product](const Status& durable) {
    if (!durable.ok()) {
      reply(durable);
    } else {
      reply(product);
    }
  });
}

void InventoryService::CreateProduct(const v1::CreateProductRequest& request,
                                     Done<v1::Product> done) {
  if (Status status = ValidateCreateProduct(request); !status.ok()) {
    done(std::move(status));
    return;
  }
  shards_.InvokeOnAsync<Result<v1::Product>>(
      OwnerOf(request.sku()),
      [request, now = internal::NowNanos()](InventoryShard& owner, auto reply) {
        WriteProduct(
            owner, [&](StockPartition& stock) { return stock.Create(request, now); },
            [reply](Result<v1::Product> product) mutable { reply(std::move(product)); });
      },
      std::move(done));
}

void InventoryService::GetProduct(const v1::GetProductRequest& request, Done<v1::Product> done) {
  if (Status status = ValidateSku(request.sku(), "sku"); !status.ok()) {
    done(std::move(status));
    return;
  }
  shards_.InvokeOn(
      OwnerOf(request.sku()),
      [sku = request.sku()](InventoryShard& owner) -> Result<v1::Product> {
        std::optional<v1::Product> product = owner.stock.Load(sku);
        if (!product) return {StatusCode::kNotFound, "product \"" + sku + "\" not found"};
        return std::move(*product);
      },
      std::move(done));
}

void InventoryService::AdjustStock(const v1::AdjustStockRequest& request, Done<v1::Product> done) {
  if (Status status = ValidateSku(request.sku(), "sku"); !status.ok()) {
    done(std::move(status));
    return;
  }
  shards_.InvokeOnAsync<Result<v1::Product>>(
      OwnerOf(request.sku()),
      [sku = request.sku(), delta = request.delta(), now = internal::NowNanos()](
          InventoryShard& owner, auto reply) {
        WriteProduct(
            owner, [&](StockPartition& stock) { return stock.Adjust(sku, delta, now); },
            [reply](Result<v1::Product> product) mutable { reply(std::move(product)); });
      },
      std::move(done));
}

void InventoryService::ListProducts(const ProductPage& page, Done<ProductRun> done) {
  using Run = std::vector<std::pair<std::string, v1::Product>>;
  size_t size = page.size;
  // One more than a page from each shard: the merge then knows whether another page follows.
  shards_.MapReduce(
      [after = page.after, size](InventoryShard& owner) {
        return owner.stock.ScanAfter(after ? &*after : nullptr, size + 1);
      },
      std::vector<Run>(), [](std::vector<Run>& runs, Run run) { runs.push_back(std::move(run)); },
      [size, done = std::move(done)](std::vector<Run> runs) {
        storage::MergedPage<std::pair<std::string, v1::Product>> merged = storage::MergeSortedRuns(
            std::move(runs), size,
            [](const auto& item) -> const std::string& { return item.first; });
        done(ProductRun{std::move(merged.items), merged.more});
      });
}

void InventoryService::ListClusterProducts(const ProductPage& page,
                                           std::chrono::system_clock::time_point deadline,
                                           Done<ProductRun> done) {
  using Run = std::vector<std::pair<std::string, v1::Product>>;
  const size_t size = page.size;
  // This partition's shards first (one more than a page each, as above), then each other
  // partition as one more run, asked at once; the page is merged when the last has answered.
  shards_.MapReduce(
      [after = page.after, size](InventoryShard& owner) {
        return owner.stock.ScanAfter(after ? &*after : nullptr, size + 1);
      },
      std::vector<Run>(), [](std::vector<Run>& runs, Run run) { runs.push_back(std::move(run)); },
      [this, after = page.after, size, deadline, done = std::move(done)](std::vector<Run> local) {
        struct Gather {
          std::vector<Run> runs;
          size_t pending = 0;
          Status failed;
          Done<ProductRun> done;
        };
        auto gather = std::make_shared<Gather>();
        gather->runs = std::move(local);
        gather->done = std::move(done);
        const ProductPartitionScanner& scanner = partition_scanner_;
        gather->pending = scanner.sources;
        const size_t limit = std::min(size + 1, scanner.limit_cap);
        // A source capped below size + 1 that answered in full may have more after its last.
        const bool capped = limit < size + 1;
        for (size_t source = 0; source < scanner.sources; ++source) {
          scanner.scan(source, after, limit, deadline,
                       [gather, size, limit, capped](Result<ProductPartitionScanner::Rows> rows) {
                         if (!rows.ok() && gather->failed.ok()) gather->failed = rows.status();
                         if (rows.ok()) gather->runs.push_back(std::move(*rows));
                         if (--gather->pending > 0) return;
                         if (!gather->failed.ok()) return gather->done(gather->failed);
                         bool maybe_more = false;
                         std::string capped_last;
                         for (const Run& run : gather->runs) {
                           if (capped && run.size() == limit &&
                               (capped_last.empty() || run.back().first < capped_last)) {
                             capped_last = run.back().first;
                             maybe_more = true;
                           }
                         }
                         storage::MergedPage<std::pair<std::string, v1::Product>> merged =
                             storage::MergeSortedRuns(
                                 std::move(gather->runs), size,
                                 [](const auto& item) -> const std::string& { return item.first; });
                         bool more = merged.more;
                         if (maybe_more && !merged.items.empty() &&
                             capped_last <= merged.items.back().first) {
                           more = true;
                         }
                         gather->done(ProductRun{std::move(merged.items), more});
                       });
        }
        if (scanner.sources == 0) {
          storage::MergedPage<std::pair<std::string, v1::Product>> merged =
              storage::MergeSortedRuns(
                  std::move(gather->runs), size,
                  [](const auto& item) -> const std::string& { return item.first; });
          gather->done(ProductRun{std::move(merged.items), merged.more});
        }
      });
}

void InventoryService::GetProduct(v1::GetProductRequest request,
                                  const clients::CallOptions& /*options*/,
                                  clients::Done<v1::Product> done) {
  GetProduct(request, ClientDone(std::move(done)));
}

void InventoryService::ReserveStock(v1::ReserveStockRequest request,
                                    const clients::CallOptions& /*options*/,
                                    clients::Done<v1::Reservation> done) {
  ReserveStock(request, ClientDone(std::move(done)));
}

void InventoryService::CommitReservation(v1::CommitReservationRequest request,
                                         const clients::CallOptions& /*options*/,
                                         clients::Done<v1::Reservation> done) {
  CommitReservation(request, ClientDone(std::move(done)));
}

void InventoryService::ReleaseReservation(v1::ReleaseReservationRequest request,
                                          const clients::CallOptions& /*options*/,
                                          clients::Done<v1::Reservation> done) {
  ReleaseReservation(request, ClientDone(std::move(done)));
}

void InventoryService::ReturnReservation(v1::ReturnReservationRequest request,
                                         const clients::CallOptions& /*options*/,
                                         clients::Done<v1::Reservation> done) {
  ReturnReservation(request, ClientDone(std::move(done)));
}

void InventoryService::AdjustStock(v1::AdjustStockRequest request,
                                   const clients::CallOptions& /*options*/,
                                   clients::Done<v1::Product> done) {
  AdjustStock(request, ClientDone(std::move(done)));
}

}  // namespace percore::inventory
