#include "services/inventory/local_inventory_client.h"

#include "core/runtime/shard.h"

namespace percore::inventory {

// The handler of the calling shard: the in-process path starts where the RPC path does.
InventoryHandler& LocalInventoryClient::Local() const {
  return def_->local(*runtime::Shard::Current());
}

// The deadline in CallOptions is not enforced in process: every operation answers without
// waiting on anything but other shards' mailboxes.
void LocalInventoryClient::GetProduct(v1::GetProductRequest request,
                                      const clients::CallOptions& /*options*/,
                                      clients::Done<v1::Product> done) {
  Local().Get(request, std::move(done));
}

void LocalInventoryClient::ReserveStock(v1::ReserveStockRequest request,
                                        const clients::CallOptions& /*options*/,
                                        clients::Done<v1::Reservation> done) {
  Local().Reserve(request, std::move(done));
}

void LocalInventoryClient::CommitReservation(v1::CommitReservationRequest request,
                                             const clients::CallOptions& /*options*/,
                                             clients::Done<v1::Reservation> done) {
  Local().Commit(request, std::move(done));
}

void LocalInventoryClient::ReleaseReservation(v1::ReleaseReservationRequest request,
                                              const clients::CallOptions& /*options*/,
                                              clients::Done<v1::Reservation> done) {
  Local().Release(request, std::move(done));
}

void LocalInventoryClient::AdjustStock(v1::AdjustStockRequest request,
                                       const clients::CallOptions& /*options*/,
                                       clients::Done<v1::Product> done) {
  Local().Adjust(request, std::move(done));
}

}  // namespace percore::inventory
