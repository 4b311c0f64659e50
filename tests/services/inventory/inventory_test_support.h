#pragma once
// Threading contract: an InventoryServiceTest is driven from the test's main thread. The free
// helpers take the stub to use, so worker threads call them with their own stubs (one
// connection each, which spreads calls over the shards).
//
// Helpers for inventory.v1.InventoryService end to end: a real percore server hosting the
// service on a loopback port with 2 shards (so cross-shard paths run), the generated gRPC client,
// and the service API (InventoryService, also the in-process clients::InventoryClient).

#include <google/protobuf/duration.pb.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "inventory/v1/inventory.grpc.pb.h"
#include "services/inventory/inventory_handler.h"
#include "tests/testing/e2e.h"

namespace percore::inventory_test {

namespace v1 = ::inventory::v1;
using namespace ::percore::testing::e2e;
using ::grpc::Status;
using ::grpc::StatusCode;
using Stub = v1::InventoryService::Stub;

constexpr int kShards = 2;

// The shard that owns `key` on the test server (PartitionOf is a fixed, documented function).
inline size_t ShardOfKey(const std::string& key) { return storage::PartitionOf(key, kShards); }

// A SKU "<prefix>-<n>" owned by `shard`.
inline std::string SkuOnShard(const std::string& prefix, size_t shard) {
  return testing::KeyOnShard(prefix, shard, kShards);
}

inline v1::CreateProductRequest ProductRequest(const std::string& sku, int64_t stock,
                                               int64_t price_minor = 1299,
                                               const std::string& currency = "USD",
                                               const std::string& name = "Widget") {
  v1::CreateProductRequest request;
  request.set_sku(sku);
  request.set_name(name);
  request.mutable_price()->set_amount_minor(price_minor);
  request.mutable_price()->set_currency(currency);
  request.set_initial_stock(stock);
  return request;
}

inline Status CreateProduct(Stub& stub, const v1::CreateProductRequest& request,
                            v1::Product* product = nullptr) {
  return CallUnary(stub, &Stub::CreateProduct, request, product);
}

inline Status GetProduct(Stub& stub, const std::string& sku, v1::Product* product = nullptr) {
  v1::GetProductRequest request;
  request.set_sku(sku);
  return CallUnary(stub, &Stub::GetProduct, request, product);
}

inline Status AdjustStock(Stub& stub, const std::string& sku, int64_t delta,
                          v1::Product* product = nullptr) {
  v1::AdjustStockRequest request;
  request.set_sku(sku);
  request.set_delta(delta);
  return CallUnary(stub, &Stub::AdjustStock, request, product);
}

struct LineSpec {
  std::string sku;
  int64_t quantity;
};

inline v1::ReserveStockRequest ReserveRequest(const std::string& key,
                                              const std::vector<LineSpec>& lines,
                                              std::chrono::milliseconds ttl = 0ms) {
  v1::ReserveStockRequest request;
  request.set_reservation_key(key);
  for (const LineSpec& spec : lines) {
    v1::StockLine* line = request.add_lines();
    line->set_sku(spec.sku);
    line->set_quantity(spec.quantity);
  }
  if (ttl > 0ms) {
    request.mutable_ttl()->set_seconds(ttl.count() / 1000);
    request.mutable_ttl()->set_nanos(static_cast<int32_t>(ttl.count() % 1000 * 1'000'000));
  }
  return request;
}

inline Status ReserveStock(Stub& stub, const v1::ReserveStockRequest& request,
                           v1::Reservation* reservation = nullptr) {
  return CallUnary(stub, &Stub::ReserveStock, request, reservation);
}

// Commit or release (the same request and answer): `method` is &Stub::CommitReservation or
// &Stub::ReleaseReservation.
template <class Request>
Status EndReservation(Stub& stub,
                      Status (Stub::*method)(ClientContext*, const Request&, v1::Reservation*),
                      const std::string& id, v1::Reservation* reservation) {
  Request request;
  request.set_reservation_id(id);
  return CallUnary(stub, method, request, reservation);
}

inline Status CommitReservation(Stub& stub, const std::string& id,
                                v1::Reservation* reservation = nullptr) {
  return EndReservation(stub, &Stub::CommitReservation, id, reservation);
}

inline Status ReleaseReservation(Stub& stub, const std::string& id,
                                 v1::Reservation* reservation = nullptr) {
  return EndReservation(stub, &Stub::ReleaseReservation, id, reservation);
}

inline Status ReturnReservation(Stub& stub, const std::string& id,
                                v1::Reservation* reservation = nullptr) {
  v1::ReturnReservationRequest request;
  request.set_reservation_id(id);
  return CallUnary(stub, &Stub::ReturnReservation, request, reservation);
}

// One ListProducts call: the products streamed (items), the status and the next-page-token.
using Page = testing::StreamPage<v1::Product>;

inline Page ListPage(Stub& stub, int32_t page_size, const std::string& page_token = "") {
  v1::ListProductsRequest request;
  request.set_page_size(page_size);
  request.set_page_token(page_token);
  return testing::ReadStream(stub, &Stub::ListProducts, request);
}

class InventoryServiceTest : public testing::ServiceTest<v1::InventoryService> {
 protected:
  Services MakeServices() override {
    service_ = std::make_shared<inventory::InventoryService>(options_);
    def_ = inventory::MakeInventoryGrpcService(service_);
    return {def_};
  }
  testing::ServerFixtureOptions FixtureOptions() override { return {.shards = kShards}; }

  v1::Product MustCreate(const std::string& sku, int64_t stock) {
    v1::Product product;
    Status status = CreateProduct(*stub_, ProductRequest(sku, stock), &product);
    EXPECT_TRUE(status.ok()) << "CreateProduct(" << sku << "): " << Describe(status);
    return product;
  }

  v1::Product MustGet(const std::string& sku) {
    v1::Product product;
    Status status = GetProduct(*stub_, sku, &product);
    EXPECT_TRUE(status.ok()) << "GetProduct(" << sku << "): " << Describe(status);
    return product;
  }

  v1::Reservation MustReserve(const v1::ReserveStockRequest& request) {
    v1::Reservation reservation;
    Status status = ReserveStock(*stub_, request, &reservation);
    EXPECT_TRUE(status.ok()) << "ReserveStock(" << request.ShortDebugString()
                             << "): " << Describe(status);
    return reservation;
  }

  // stock, reserved, available of `sku`.
  std::vector<int64_t> Levels(const std::string& sku) {
    v1::Product product = MustGet(sku);
    return {product.stock(), product.reserved(), product.available()};
  }

  inventory::InventoryServiceOptions options_;
  std::shared_ptr<inventory::InventoryService> service_;
  std::shared_ptr<inventory::InventoryHandler::Def> def_;
};

}  // namespace percore::inventory_test
