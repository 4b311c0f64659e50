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
#include <tuple>
#include <utility>
#include <vector>

#include "inventory/v1/inventory.grpc.pb.h"
#include "services/clients/inventory_client.h"
#include "services/remote/peer_stubs.h"
#include "services/remote/remote_peer.h"

namespace percore::remote {

// Every operation is one call of the peer's generated stub; kPrepare names the stub's method
// for each, in the order of clients::kInventoryMethods.
class RemoteInventoryClient final : public clients::InventoryClientVia<RemoteInventoryClient> {
 public:
  static PeerOptions Options(std::vector<std::string> addresses);

  explicit RemoteInventoryClient(std::shared_ptr<RemotePeer> peer)
      : stubs_(std::move(peer), clients::kInventoryMethods) {}

  RemotePeer& peer() { return stubs_.peer(); }

 private:
  friend class clients::InventoryClientVia<RemoteInventoryClient>;
  using Stub = ::inventory::v1::InventoryService::Stub;
  static constexpr auto kPrepare =
      std::make_tuple(&Stub::PrepareAsyncGetProduct, &Stub::PrepareAsyncReserveStock,
                      &Stub::PrepareAsyncCommitReservation, &Stub::PrepareAsyncReleaseReservation,
                      &Stub::PrepareAsyncAdjustStock, &Stub::PrepareAsyncReturnReservation);

  template <size_t op, class Req, class Resp>
  void Send(Req request, const clients::CallOptions& options, clients::Done<Resp> done) {
    stubs_.template Call<Resp>(
        op, options, std::move(done),
        [&](Stub& stub, grpc::ClientContext* context, grpc::CompletionQueue* cq) {
          return (stub.*std::get<op>(kPrepare))(context, request, cq);
        });
  }

  PeerStubs<::inventory::v1::InventoryService> stubs_;
};

}  // namespace percore::remote
