#pragma once
// Threading contract: see call_options.h. One object serves every shard.
//
// What other services ask of inventory.v1.InventoryService (the semantics are in
// proto/inventory/v1/inventory.proto), and InventoryClientVia, for an implementation that sends
// every operation the same way.

#include <cstddef>
#include <tuple>
#include <utility>

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

// InventoryClient's operations, in the order above, by their gRPC method names.
inline constexpr const char* kInventoryMethods[] = {"GetProduct",        "ReserveStock",
                                                    "CommitReservation", "ReleaseReservation",
                                                    "AdjustStock",       "ReturnReservation"};

// InventoryClient's operations, in the order above, as member functions: for passing a call on
// to another client.
inline constexpr auto kInventoryOps =
    std::make_tuple(&InventoryClient::GetProduct, &InventoryClient::ReserveStock,
                    &InventoryClient::CommitReservation, &InventoryClient::ReleaseReservation,
                    &InventoryClient::AdjustStock, &InventoryClient::ReturnReservation);

// An InventoryClient that sends each operation alike (a peer's generated stubs, or another
// client): `Impl::Send<op>(request, options, done)`, `op` indexing kInventoryMethods. An Impl
// that is not final may still override one operation (a test's client losing some calls).
template <class Impl>
class InventoryClientVia : public InventoryClient {
 public:
  void GetProduct(::inventory::v1::GetProductRequest request, const CallOptions& options,
                  Done<::inventory::v1::Product> done) override {
    Send<0>(std::move(request), options, std::move(done));
  }
  void ReserveStock(::inventory::v1::ReserveStockRequest request, const CallOptions& options,
                    Done<::inventory::v1::Reservation> done) override {
    Send<1>(std::move(request), options, std::move(done));
  }
  void CommitReservation(::inventory::v1::CommitReservationRequest request,
                         const CallOptions& options,
                         Done<::inventory::v1::Reservation> done) override {
    Send<2>(std::move(request), options, std::move(done));
  }
  void ReleaseReservation(::inventory::v1::ReleaseReservationRequest request,
                          const CallOptions& options,
                          Done<::inventory::v1::Reservation> done) override {
    Send<3>(std::move(request), options, std::move(done));
  }
  void AdjustStock(::inventory::v1::AdjustStockRequest request, const CallOptions& options,
                   Done<::inventory::v1::Product> done) override {
    Send<4>(std::move(request), options, std::move(done));
  }
  void ReturnReservation(::inventory::v1::ReturnReservationRequest request,
                         const CallOptions& options,
                         Done<::inventory::v1::Reservation> done) override {
    Send<5>(std::move(request), options, std::move(done));
  }

 private:
  template <size_t op, class Req, class Resp>
  void Send(Req request, const CallOptions& options, Done<Resp> done) {
    static_cast<Impl*>(this)->template Send<op>(std::move(request), options, std::move(done));
  }
};

}  // namespace percore::clients
