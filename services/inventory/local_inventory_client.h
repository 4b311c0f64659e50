#pragma once
// Threading contract: see services/clients/call_options.h. Stateless apart from the service
// definition, so one object serves every shard; each call must be issued on a shard thread of
// the runtime that hosts the service.
//
// InventoryService as another service in this process sees it: the calling shard's
// InventoryHandler runs the very operation its RPC runs (hops to the owning shards and back),
// with messages passed as objects (no serialization, no network).

#include <memory>

#include "services/clients/inventory_client.h"
#include "services/inventory/inventory_handler.h"

namespace percore::inventory {

class LocalInventoryClient final : public clients::InventoryClient {
 public:
  explicit LocalInventoryClient(std::shared_ptr<InventoryHandler::Def> def)
      : def_(std::move(def)) {}

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

 private:
  InventoryHandler& Local() const;
  std::shared_ptr<InventoryHandler::Def> def_;
};

}  // namespace percore::inventory
