#pragma once
// Threading contract: see services/clients/call_options.h; calls on the shards of one Runtime.
// Built before the runtime starts, destroyed after it stopped.
//
// InventoryService in other processes (--peer inventory=HOST:PORT,...), over gRPC: round_robin
// across the replicas, the caller's deadline propagated. Retried on UNAVAILABLE: GetProduct (a
// read), ReserveStock (idempotent by reservation_key), CommitReservation, ReleaseReservation and
// ReturnReservation (idempotent). Never AdjustStock: a delta applied twice moves the stock twice.

#include <memory>
#include <string>
#include <vector>

#include "inventory/v1/inventory.grpc.pb.h"
#include "services/clients/inventory_client.h"
#include "services/remote/peer_stubs.h"
#include "services/remote/remote_peer.h"

namespace percore::remote {

class RemoteInventoryClient final : public clients::InventoryClient {
 public:
  static PeerOptions Options(std::vector<std::string> addresses);

  explicit RemoteInventoryClient(std::shared_ptr<RemotePeer> peer)
      : stubs_(std::move(peer), {"GetProduct", "ReserveStock", "CommitReservation",
                                 "ReleaseReservation", "AdjustStock", "ReturnReservation"}) {}

  void GetProduct(::inventory::v1::GetProductRequest request, const clients::CallOptions& options,
                  clients::Done<::inventory::v1::Product> done) override;
  void ReserveStock(::inventory::v1::ReserveStockRequest request,
                    const clients::CallOptions& options,
                    clients::Done<::inventory::v1::Reservation> done) override;
  void CommitReservation(::inventory::v1::CommitReservationRequest request,
                         const clients::CallOptions& options,
                         clients::Done<::inventory::v1::Reservation> done) override;
  void ReleaseReservation(::inventory::v1::ReleaseReservationRequest request,
                          const clients::CallOptions& options,
                          clients::Done<::inventory::v1::Reservation> done) override;
  void AdjustStock(::inventory::v1::AdjustStockRequest request, const clients::CallOptions& options,
                   clients::Done<::inventory::v1::Product> done) override;
  void ReturnReservation(::inventory::v1::ReturnReservationRequest request,
                         const clients::CallOptions& options,
                         clients::Done<::inventory::v1::Reservation> done) override;

  RemotePeer& peer() { return stubs_.peer(); }

 private:
  // Indexes the names given to stubs_.
  enum Method : size_t {
    kGetProduct,
    kReserveStock,
    kCommitReservation,
    kReleaseReservation,
    kAdjustStock,
    kReturnReservation
  };
  PeerStubs<::inventory::v1::InventoryService> stubs_;
};

}  // namespace percore::remote
