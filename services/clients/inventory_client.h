#pragma once
// Threading contract: see call_options.h. One object serves every shard.
//
// What other services ask of inventory.v1.InventoryService (the semantics are in
// proto/inventory/v1/inventory.proto).

#include "inventory/v1/inventory.pb.h"
#include "services/clients/call_options.h"

namespace percore::clients {

class InventoryClient {
 public:
  virtual ~InventoryClient() = default;
  virtual void GetProduct(::inventory::v1::GetProductRequest request, const CallOptions& options,
                          Done<::inventory::v1::Product> done) = 0;
  virtual void ReserveStock(::inventory::v1::ReserveStockRequest request,
                            const CallOptions& options,
                            Done<::inventory::v1::Reservation> done) = 0;
  virtual void CommitReservation(::inventory::v1::CommitReservationRequest request,
                                 const CallOptions& options,
                                 Done<::inventory::v1::Reservation> done) = 0;
  virtual void ReleaseReservation(::inventory::v1::ReleaseReservationRequest request,
                                  const CallOptions& options,
                                  Done<::inventory::v1::Reservation> done) = 0;
  // Adds units to (or takes them from) the stock; not idempotent.
  virtual void AdjustStock(::inventory::v1::AdjustStockRequest request, const CallOptions& options,
                           Done<::inventory::v1::Product> done) = 0;
  // Returns a committed reservation's units to stock, exactly once (CancelOrder of a confirmed
  // order); idempotent, so it may be retried. A client that cannot answers UNIMPLEMENTED.
  virtual void ReturnReservation(::inventory::v1::ReturnReservationRequest request,
                                 const CallOptions& options,
                                 Done<::inventory::v1::Reservation> done) {
    (void)request;
    (void)options;
    done(Status(StatusCode::kUnimplemented, "ReturnReservation"), ::inventory::v1::Reservation());
  }
};

}  // namespace percore::clients
