#pragma once
// Threading contract: one InventoryHandler per shard (rpc::ServiceDef), used only on its shard.
//
// The gRPC adapter of inventory.v1.InventoryService: each method checks what only the wire
// carries (ListProducts' page), calls the service API (InventoryService, where the rules and the
// cross-shard work live) and finishes the call with the answer.

#include <memory>

#include "core/rpc/service_def.h"
#include "services/inventory/inventory_service.h"

namespace percore::inventory {

class InventoryHandler {
 public:
  using Def = rpc::ServiceDef<InventoryHandler>;

  explicit InventoryHandler(std::shared_ptr<InventoryService> service)
      : service_(std::move(service)) {}

  void CreateProduct(rpc::UnaryCall<v1::CreateProductRequest, v1::Product> call);
  void GetProduct(rpc::UnaryCall<v1::GetProductRequest, v1::Product> call);
  void ListProducts(rpc::ServerStream<v1::ListProductsRequest, v1::Product> call);
  void AdjustStock(rpc::UnaryCall<v1::AdjustStockRequest, v1::Product> call);
  void ReserveStock(rpc::UnaryCall<v1::ReserveStockRequest, v1::Reservation> call);
  void CommitReservation(rpc::UnaryCall<v1::CommitReservationRequest, v1::Reservation> call);
  void ReleaseReservation(rpc::UnaryCall<v1::ReleaseReservationRequest, v1::Reservation> call);
  void ReturnReservation(rpc::UnaryCall<v1::ReturnReservationRequest, v1::Reservation> call);

  // This shard's part of the service (tests read its stores).
  InventoryShard& local() { return service_->shards().local(); }

 private:
  std::shared_ptr<InventoryService> service_;
};

// The gRPC registration of `service`: each shard's part of the service is started with the
// shard's handler.
std::shared_ptr<InventoryHandler::Def> MakeInventoryGrpcService(
    std::shared_ptr<InventoryService> service);
// Both at once, for a server that hosts the service and needs no handle on its API.
std::shared_ptr<InventoryHandler::Def> MakeInventoryService(InventoryServiceOptions options = {});

}  // namespace percore::inventory
