#pragma once
// Threading contract: one InventoryHandler per shard (rpc::ServiceDef), used only on its shard.
// A handler reaches another shard's data only by a Hop that runs an op on that shard's handler
// and continues here with owned results. The operations (Create, Get, ..., Release) take a
// `done` that runs exactly once on the calling shard, possibly inline.
//
// inventory.v1.InventoryService (proto/inventory/v1/inventory.proto). Where data lives:
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
// decide on the record's shard (HELD -> COMMITTED / RELEASED, or expired), then settle the holds on
// the product shards before answering.
//
// The RPC methods parse, call the same operation LocalInventoryClient calls, and finish.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/base/status.h"
#include "core/rpc/service_def.h"
#include "services/clients/call_options.h"
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
};

class InventoryHandler {
 public:
  using Def = rpc::ServiceDef<InventoryHandler>;
  template <class Resp>
  using Done = clients::Done<Resp>;

  InventoryHandler(runtime::Shard& shard, Def* def, InventoryServiceOptions options);

  // The RPCs.
  void CreateProduct(rpc::UnaryCall<v1::CreateProductRequest, v1::Product> call);
  void GetProduct(rpc::UnaryCall<v1::GetProductRequest, v1::Product> call);
  void ListProducts(rpc::ServerStream<v1::ListProductsRequest, v1::Product> call);
  void AdjustStock(rpc::UnaryCall<v1::AdjustStockRequest, v1::Product> call);
  void ReserveStock(rpc::UnaryCall<v1::ReserveStockRequest, v1::Reservation> call);
  void CommitReservation(rpc::UnaryCall<v1::CommitReservationRequest, v1::Reservation> call);
  void ReleaseReservation(rpc::UnaryCall<v1::ReleaseReservationRequest, v1::Reservation> call);

  // The operations behind them, shared with LocalInventoryClient. Call on this handler's shard.
  void Create(const v1::CreateProductRequest& request, Done<v1::Product> done);
  void Get(const v1::GetProductRequest& request, Done<v1::Product> done);
  void Adjust(const v1::AdjustStockRequest& request, Done<v1::Product> done);
  void Reserve(const v1::ReserveStockRequest& request, Done<v1::Reservation> done);
  void Commit(const v1::CommitReservationRequest& request, Done<v1::Reservation> done);
  void Release(const v1::ReleaseReservationRequest& request, Done<v1::Reservation> done);

  StockPartition& stock() { return stock_; }
  ReservationBook& reservations() { return reservations_; }

 private:
  enum class Settle { kCommit, kRelease };
  struct BeginOutcome;
  struct SettleDecision;
  struct ReserveAttempt;

  // Reserve, on the calling shard.
  void HoldNext(std::shared_ptr<ReserveAttempt> attempt);
  void AbortReserve(std::shared_ptr<ReserveAttempt> attempt, Status status);
  void CompleteReserve(std::shared_ptr<ReserveAttempt> attempt);
  void ResumeWaiter(uint64_t token, const Status& status, v1::Reservation reservation);
  void SettleReservation(const std::string& id, Settle how, Done<v1::Reservation> done);

  // On the record's shard.
  BeginOutcome BeginReservation(const std::string& key, std::vector<Line> sorted_lines,
                                ReserveWaiter waiter);
  v1::Reservation ActivateReservation(const std::string& id, const ReservePlan& plan,
                                      const std::vector<commerce::v1::Money>& prices);
  void DropPendingReservation(const std::string& id, const Status& status);
  SettleDecision DecideSettle(const std::string& id, Settle how);
  void ExpireReservation(const std::string& id);
  void MarkExpired(ReservationRecord& record, int64_t now);
  void NotifyWaiters(ReservationRecord& record, const Status& status);

  runtime::ShardId ShardOf(std::string_view key) const;
  // The distinct shards owning `lines`, ascending.
  std::vector<runtime::ShardId> ShardsOf(const std::vector<Line>& lines) const;

  runtime::Shard& shard_;
  runtime::Runtime& runtime_;
  Def* def_;
  InventoryServiceOptions options_;
  StockPartition stock_;
  ReservationBook reservations_;
  ReservationIdGenerator ids_;
  // ReserveStock calls started here that wait for the first call with their key (any shard).
  uint64_t next_wait_token_ = 1;
  std::unordered_map<uint64_t, Done<v1::Reservation>> waiting_;
};

std::shared_ptr<InventoryHandler::Def> MakeInventoryService(InventoryServiceOptions options = {});

}  // namespace percore::inventory
