#include "services/inventory/inventory_handler.h"

#include <utility>

#include "core/cluster/forwarded_mark.h"
#include "core/rpc/page_writer.h"
#include "services/inventory/sku_page_token.h"

namespace percore::inventory {
namespace {

// The `done` of an RPC: finish the call with the response or the error.
template <class Req, class Resp>
Done<Resp> FinishCall(rpc::UnaryCall<Req, Resp> call) {
  return [call = std::move(call)](Result<Resp>&& answer) {
    if (answer.ok()) {
      call.Finish(*answer);
    } else {
      call.Finish(answer.status());
    }
  };
}

}  // namespace

void InventoryHandler::CreateProduct(rpc::UnaryCall<v1::CreateProductRequest, v1::Product> call) {
  service_->CreateProduct(call.request(), FinishCall(call));
}

void InventoryHandler::GetProduct(rpc::UnaryCall<v1::GetProductRequest, v1::Product> call) {
  service_->GetProduct(call.request(), FinishCall(call));
}

void InventoryHandler::AdjustStock(rpc::UnaryCall<v1::AdjustStockRequest, v1::Product> call) {
  service_->AdjustStock(call.request(), FinishCall(call));
}

void InventoryHandler::ReserveStock(rpc::UnaryCall<v1::ReserveStockRequest, v1::Reservation> call) {
  service_->ReserveStock(call.request(), FinishCall(call));
}

void InventoryHandler::CommitReservation(
    rpc::UnaryCall<v1::CommitReservationRequest, v1::Reservation> call) {
  service_->CommitReservation(call.request(), FinishCall(call));
}

void InventoryHandler::ReleaseReservation(
    rpc::UnaryCall<v1::ReleaseReservationRequest, v1::Reservation> call) {
  service_->ReleaseReservation(call.request(), FinishCall(call));
}

void InventoryHandler::ReturnReservation(
    rpc::UnaryCall<v1::ReturnReservationRequest, v1::Reservation> call) {
  service_->ReturnReservation(call.request(), FinishCall(call));
}

void InventoryHandler::ListProducts(rpc::ServerStream<v1::ListProductsRequest, v1::Product> call) {
  Result<ProductPage> page = ValidateListProducts(
      call.request(), service_->options().default_page_size, service_->options().max_page_size);
  if (!page.ok()) {
    call.Finish(page.status());
    return;
  }
  // The page is merged from every shard (in a cluster, unless the call is a member's: every
  // partition), then streamed with backpressure (rpc::WritePage).
  auto write = [call](Result<ProductRun> run) mutable {
    if (!run.ok()) {
      call.Finish(run.status());
      return;
    }
    if (run->more && !run->items.empty()) {
      call.AddTrailingMetadata("next-page-token", EncodeSkuPageToken(run->items.back().first));
    }
    rpc::WritePage(call, std::move(run->items),
                   [](const auto& item) -> const v1::Product& { return item.second; });
  };
  if (service_->partition_scanner().sources > 0 &&
      !call.metadata(cluster::kForwardedFromKey).has_value()) {
    service_->ListClusterProducts(*page, call.deadline(), std::move(write));
    return;
  }
  service_->ListProducts(*page, std::move(write));
}

std::shared_ptr<InventoryHandler::Def> MakeInventoryGrpcService(
    std::shared_ptr<InventoryService> service) {
  auto def = std::make_shared<InventoryHandler::Def>(
      rpc::FindServiceDescriptor("inventory.v1.InventoryService"),
      [service](runtime::Shard& shard) {
        service->StartShard(shard);
        return std::make_unique<InventoryHandler>(service);
      });
  def->Unary("CreateProduct", &InventoryHandler::CreateProduct);
  def->Unary("GetProduct", &InventoryHandler::GetProduct);
  def->ServerStream("ListProducts", &InventoryHandler::ListProducts);
  def->Unary("AdjustStock", &InventoryHandler::AdjustStock);
  def->Unary("ReserveStock", &InventoryHandler::ReserveStock);
  def->Unary("CommitReservation", &InventoryHandler::CommitReservation);
  def->Unary("ReleaseReservation", &InventoryHandler::ReleaseReservation);
  def->Unary("ReturnReservation", &InventoryHandler::ReturnReservation);
  return def;
}

std::shared_ptr<InventoryHandler::Def> MakeInventoryService(InventoryServiceOptions options) {
  return MakeInventoryGrpcService(std::make_shared<InventoryService>(options));
}

}  // namespace percore::inventory
