#pragma once
// Threading contract: one InventoryService per process, shared by every shard. SetShardCount()
// on the control thread before the shards start; StartShard() once on each shard's thread before
// it serves; every operation from a shard thread, its `done` run exactly once on that same thread
// (inline or later). Each shard's part (InventoryShard) is touched only by that shard: other
// shards reach it through Sharded<InventoryShard>::InvokeOn / RunOn / MapReduce.
//
// inventory.v1.InventoryService as an API, without gRPC: what the gRPC adapter (InventoryHandler),
// the gateway and other services in this process (as clients::InventoryClient) call. Where data
// lives:
//   - a product, with the holds placed on it, on shard ShardFor(sku) (StockPartition);
//   - a reservation record on shard ShardFor(reservation_key); its id is drawn so that
//     ShardFor(id) is that same shard (ReservationBook), where its expiry timer runs too.
// ReserveStock: (1) on the key's shard, find the key (answer or wait) or add a pending record;
// (2) hold the lines shard by shard in ascending shard order, each shard checking and holding
// all of its lines in one step; on NOT_FOUND / shortage undo the holds made so far, drop the
// pending record and answer; (3) on the key's shard mark the record HELD, arm its expiry timer
// and answer the waiters. With lines on several shards the error names the first SKU found short
// (or unknown) in ascending shard order, then request order. No shard ever holds more than it has,
// so nothing is oversold, and no shard waits for another, so nothing deadlocks. Commit/Release
// decide on the record's shard (HELD -> COMMITTED / RELEASED, or expired), then settle the holds
// on the product shards before answering. With a data directory every change is logged on the
// shard that makes it and answered once durable (inventory_journal.h has the write order). A call
// that waits for the first call with its key is parked on its own shard (Park) and answered there
// by a RunOn from the key's shard.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/base/result.h"
#include "core/durability/durability_config.h"
#include "core/durability/store_journal.h"
#include "core/runtime/sharded.h"
#include "services/clients/inventory_client.h"
#include "services/inventory/inventory_journal.h"
#include "services/inventory/inventory_snapshot_source.h"
#include "services/inventory/inventory_validation.h"
#include "services/inventory/reservation_book.h"
#include "services/inventory/reservation_id.h"
#include "services/inventory/stock_partition.h"

namespace percore::inventory {

struct InventoryServiceOptions {
  // ReserveStock's ttl when the request has none, and the largest it may ask for.
  std::chrono::nanoseconds default_reservation_ttl = std::chrono::seconds(60);
  std::chrono::nanoseconds max_reservation_ttl = std::chrono::hours(1);
  // ListProducts' page_size when 0, and the cap on larger ones.
  int default_page_size = 100;
  int max_page_size = 1000;
  // Lines one ReserveStock may carry (INVALID_ARGUMENT beyond).
  size_t max_lines_per_reservation = 1000;
  // Where the inventory is kept durably (off: in memory only). See inventory_journal.h.
  durability::DurabilityConfig durability{};
};

// The answer, handed over as an rvalue (a Reservation's move is a construction, a swap and a
// destruction): a callback takes it by value only to keep it.
template <class T>
using Done = std::function<void(Result<T>&&)>;

// One shard's part of the service: its stores, its id generator, and the ReserveStock calls of
// this shard waiting for the first call with their key (which may run on any shard).
struct InventoryShard {
  explicit InventoryShard(runtime::Shard& shard);
  runtime::Shard& shard;
  StockPartition stock;
  ReservationBook reservations;
  ReservationIdGenerator ids;
  uint64_t next_wait_token = 1;
  std::unordered_map<uint64_t, Done<v1::Reservation>> waiting;
  durability::StoreJournal journal;                              // off without a data directory
  InventorySnapshotSource snapshot_source{stock, reservations};  // snapshots while serving
  std::string retention_cursor;  // where the retention sweep of `reservations` is
  // Reservations whose id hashes here but whose record lives on another shard (recovered for a
  // different --shards than they were made with): id -> the record's shard.
  std::unordered_map<std::string, runtime::ShardId> moved;

  // On a first ask (not `followed`) for a reservation whose record is not here but moved: the
  // shard to ask again.
  std::optional<runtime::ShardId> MovedTo(const std::string& id, bool followed) const {
    // Ids move only in a recovery for another --shards: with none moved, no lookup.
    if (followed || moved.empty() || reservations.Contains(id)) return std::nullopt;
    auto it = moved.find(id);
    if (it == moved.end()) return std::nullopt;
    return it->second;
  }

  uint64_t Park(Done<v1::Reservation> done);
  // Answers the parked call `token` (no-op when already answered).
  void Resume(uint64_t token, Result<v1::Reservation> answer);
};

// What the shard a reservation's record hashes to answers a settle or a return with: the
// outcome, or the shard its record moved to (InventoryShard::MovedTo: ask again there).
struct SettlementOnShard {
  Result<Settlement> result;
  std::optional<runtime::ShardId> moved;
};

// A ListProducts page: the products after the cursor in SKU order, and whether more follow.
struct ProductRun {
  std::vector<std::pair<std::string, v1::Product>> items;
  bool more = false;
};

// In a cluster, the products of the other partitions, for a ListProducts over the whole cluster
// (services/cluster sets it before the shards start; none outside a cluster). Each of `sources`
// answers up to `limit` products after `after` in SKU order, `done` run on the calling shard (an
// error, e.g. UNAVAILABLE for a partition that is down, ends the page: a page silently missing a
// partition would look complete). `limit_cap`: the most one source answers (a source that
// answers that many may have more).
struct ProductPartitionScanner {
  using Rows = std::vector<std::pair<std::string, v1::Product>>;
  size_t sources = 0;
  size_t limit_cap = 1000;
  std::function<void(size_t source, const std::optional<std::string>& after, size_t limit,
                     std::chrono::system_clock::time_point deadline,
                     std::function<void(Result<Rows>)> done)>
      scan;
};

class InventoryService final : public clients::InventoryClient {
 public:
  explicit InventoryService(InventoryServiceOptions options = {}) : options_(options) {}

  void SetShardCount(size_t shards) { shards_.SetShardCount(shards); }
  // Control thread, before the shards start, when options().durability is enabled: recovers the
  // inventory for `shards` shards (inventory_journal.h); StartShard then loads each shard's part.
  Status Recover(size_t shards, std::string* report);
  // Control thread, after the runtime's threads are joined: syncs and stops every shard's log.
  void CloseJournals();
  void StartShard(runtime::Shard& shard);
  const InventoryServiceOptions& options() const { return options_; }
  runtime::Sharded<InventoryShard>& shards() { return shards_; }

  void CreateProduct(const v1::CreateProductRequest& request, Done<v1::Product> done);
  void GetProduct(const v1::GetProductRequest& request, Done<v1::Product> done);
  void AdjustStock(const v1::AdjustStockRequest& request, Done<v1::Product> done);
  // One page of every shard's products, merged (`page` from ValidateListProducts).
  void ListProducts(const ProductPage& page, Done<ProductRun> done);
  // The same page over the whole cluster: this partition's shards and every other partition
  // (the partition scanner's sources) merged as one more run each. On a shard thread.
  void ListClusterProducts(const ProductPage& page, std::chrono::system_clock::time_point deadline,
                           Done<ProductRun> done);
  void SetPartitionScanner(ProductPartitionScanner scanner) {
    partition_scanner_ = std::move(scanner);
  }
  const ProductPartitionScanner& partition_scanner() const { return partition_scanner_; }
  void ReserveStock(const v1::ReserveStockRequest& request, Done<v1::Reservation> done);
  void CommitReservation(const v1::CommitReservationRequest& request, Done<v1::Reservation> done);
  void ReleaseReservation(const v1::ReleaseReservationRequest& request, Done<v1::Reservation> done);
  // COMMITTED -> RETURNED, the units back in stock exactly once (return_service.cc): on the
  // record's shard mark it returning; place a pending return on each product shard (durable);
  // decide RETURNED on the record's shard (durable); apply the pending returns; answer.
  void ReturnReservation(const v1::ReturnReservationRequest& request, Done<v1::Reservation> done);

  // clients::InventoryClient: the same operations for other services in this process. The
  // deadline in CallOptions is not enforced in process: every operation answers without
  // waiting on anything but other shards' mailboxes.
  void GetProduct(v1::GetProductRequest request, const clients::CallOptions& options,
                  clients::Done<v1::Product> done) override;
  void ReserveStock(v1::ReserveStockRequest request, const clients::CallOptions& options,
                    clients::Done<v1::Reservation> done) override;
  void CommitReservation(v1::CommitReservationRequest request, const clients::CallOptions& options,
                         clients::Done<v1::Reservation> done) override;
  void ReleaseReservation(v1::ReleaseReservationRequest request,
                          const clients::CallOptions& options,
                          clients::Done<v1::Reservation> done) override;
  void AdjustStock(v1::AdjustStockRequest request, const clients::CallOptions& options,
                   clients::Done<v1::Product> done) override;
  void ReturnReservation(v1::ReturnReservationRequest request, const clients::CallOptions& options,
                         clients::Done<v1::Reservation> done) override;

 private:
  struct ReserveAttempt;

  // ReserveStock, on the calling shard.
  void HoldNext(std::shared_ptr<ReserveAttempt> attempt);
  void AbortReserve(std::shared_ptr<ReserveAttempt> attempt, Status status);
  void CompleteReserve(std::shared_ptr<ReserveAttempt> attempt);
  void Settle(const std::string& id, SettleHow how, Done<v1::Reservation> done);

  // Settle on `shard`, following a moved id once.
  void SettleOn(runtime::ShardId shard, const std::string& id, SettleHow how,
                Done<v1::Reservation> done, bool followed);

  // ReturnReservation's steps (return_service.cc): begin on `shard` (following a moved id once),
  // place the pending returns, decide, apply.
  void ReturnOn(runtime::ShardId shard, const std::string& id, Done<v1::Reservation> done,
                bool followed);
  void PlaceReturns(runtime::ShardId record_shard, Settlement settlement,
                    Done<v1::Reservation> done);
  void DecideReturn(runtime::ShardId record_shard, std::vector<Line> lines,
                    Done<v1::Reservation> done, const std::string& id);

  // On the record's shard.
  void ExpireOnTimer(InventoryShard& owner, const std::string& id);
  // Expires `id` if it is HELD and due (or `force`), logs it, and once that is durable releases
  // its holds. A log that cannot be written leaves it HELD (a timer tries again).
  void ExpireIfDue(InventoryShard& owner, const std::string& id, bool force);
  // `record`: owner's (a reference, not an id: no second lookup).
  void ArmExpiry(InventoryShard& owner, ReservationRecord& record, std::chrono::nanoseconds after);
  // On the record's shard, once the expiry is durable: the reservation left HELD there (its
  // timer is cancelled); the holds it placed are released on their shards, with no answer.
  void ReleaseExpired(InventoryShard& owner, const Settlement& expired);
  void AnswerWaiters(const std::vector<ReserveWaiter>& waiters,
                     const Result<v1::Reservation>& answer);

  runtime::ShardId OwnerOf(std::string_view key) const { return shards_.ShardFor(key); }
  // The distinct shards owning `lines`, ascending.
  std::vector<runtime::ShardId> ShardsOf(const std::vector<Line>& lines) const;
  // fn(InventoryShard&) on each of `shards` at once, then then() here once all have run (inline
  // when there are none). fn is copied to each shard, so it must own what it captures.
  template <class Fn>
  void OnEach(const std::vector<runtime::ShardId>& shards, Fn fn, std::function<void()> then);

  InventoryServiceOptions options_;
  ProductPartitionScanner partition_scanner_;
  runtime::Sharded<InventoryShard> shards_;
  std::vector<InventoryRestore> restore_;  // by shard, from Recover(); each taken by StartShard
};

}  // namespace percore::inventory
