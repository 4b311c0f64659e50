#include "services/remote/remote_inventory_client.h"

namespace percore::remote {

using ::inventory::v1::Product;
using ::inventory::v1::Reservation;

PeerOptions RemoteInventoryClient::Options(std::vector<std::string> addresses) {
  PeerOptions options;
  options.service = "inventory.v1.InventoryService";
  options.addresses = std::move(addresses);
  options.retryable_methods = {"GetProduct", "ReserveStock", "CommitReservation",
                               "ReleaseReservation", "ReturnReservation"};
  return options;
}

void RemoteInventoryClient::GetProduct(::inventory::v1::GetProductRequest request,
                                       const clients::CallOptions& options,
                                       clients::Done<Product> done) {
  stubs_.Call<Product>(kGetProduct, options, std::move(done),
                       [&](auto& stub, auto* context, auto* cq) {
                         return stub.PrepareAsyncGetProduct(context, request, cq);
                       });
}

void RemoteInventoryClient::ReserveStock(::inventory::v1::ReserveStockRequest request,
                                         const clients::CallOptions& options,
                                         clients::Done<Reservation> done) {
  stubs_.Call<Reservation>(kReserveStock, options, std::move(done),
                           [&](auto& stub, auto* context, auto* cq) {
                             return stub.PrepareAsyncReserveStock(context, request, cq);
                           });
}

void RemoteInventoryClient::CommitReservation(::inventory::v1::CommitReservationRequest request,
                                              const clients::CallOptions& options,
                                              clients::Done<Reservation> done) {
  stubs_.Call<Reservation>(kCommitReservation, options, std::move(done),
                           [&](auto& stub, auto* context, auto* cq) {
                             return stub.PrepareAsyncCommitReservation(context, request, cq);
                           });
}

void RemoteInventoryClient::ReleaseReservation(::inventory::v1::ReleaseReservationRequest request,
                                               const clients::CallOptions& options,
                                               clients::Done<Reservation> done) {
  stubs_.Call<Reservation>(kReleaseReservation, options, std::move(done),
                           [&](auto& stub, auto* context, auto* cq) {
                             return stub.PrepareAsyncReleaseReservation(context, request, cq);
                           });
}

void RemoteInventoryClient::AdjustStock(::inventory::v1::AdjustStockRequest request,
                                        const clients::CallOptions& options,
                                        clients::Done<Product> done) {
  stubs_.Call<Product>(kAdjustStock, options, std::move(done),
                       [&](auto& stub, auto* context, auto* cq) {
                         return stub.PrepareAsyncAdjustStock(context, request, cq);
                       });
}

void RemoteInventoryClient::ReturnReservation(::inventory::v1::ReturnReservationRequest request,
                                              const clients::CallOptions& options,
                                              clients::Done<Reservation> done) {
  stubs_.Call<Reservation>(kReturnReservation, options, std::move(done),
                           [&](auto& stub, auto* context, auto* cq) {
                             return stub.PrepareAsyncReturnReservation(context, request, cq);
                           });
}

}  // namespace percore::remote
