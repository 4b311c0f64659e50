#pragma once
// Threading contract: an InventoryServiceTest is driven from the test's main thread. The free
// helpers take the stub to use, so worker threads call them with their own stubs (one
// connection each, which spreads calls over the shards).
//
// Helpers for inventory.v1.InventoryService end to end: a real percore server hosting the
// service on a loopback port with 2 shards (so cross-shard paths run), the generated gRPC client,
// and the service definition for LocalInventoryClient.

#include <google/protobuf/duration.pb.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/storage/partition_of.h"
#include "inventory/v1/inventory.grpc.pb.h"
#include "services/inventory/inventory_handler.h"
#include "tests/testing/server_fixture.h"

namespace percore::inventory_test {

namespace v1 = ::inventory::v1;
using ::grpc::ClientContext;
using ::grpc::Status;
using ::grpc::StatusCode;
using Stub = v1::InventoryService::Stub;
using namespace std::chrono_literals;

constexpr auto kCallTimeout = 20s;
constexpr int kShards = 2;
constexpr char kNextPageTokenKey[] = "next-page-token";

inline void SetDeadline(ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
}

inline std::string Describe(const Status& status) {
  return std::to_string(static_cast<int>(status.error_code())) + " \"" + status.error_message() +
         "\"";
}

inline ::testing::AssertionResult HasCode(const Status& status, StatusCode code) {
  if (status.error_code() == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected code " << static_cast<int>(code) << ", got " << Describe(status);
}

// `code` with a message that contains `text` (a field name, a SKU, a count).
inline ::testing::AssertionResult IsErrorNaming(const Status& status, StatusCode code,
                                                const std::string& text) {
  if (status.error_code() != code) {
    return ::testing::AssertionFailure() << "expected code " << static_cast<int>(code) << " naming "
                                         << text << ", got " << Describe(status);
  }
  if (status.error_message().find(text) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "message does not name " << text << ": " << Describe(status);
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult IsInvalidArgumentNaming(const Status& status,
                                                          const std::string& field) {
  return IsErrorNaming(status, StatusCode::INVALID_ARGUMENT, field);
}

// The shard that owns `key` on the test server (PartitionOf is a fixed, documented function).
inline size_t ShardOfKey(const std::string& key) { return storage::PartitionOf(key, kShards); }

// A SKU "<prefix>-<n>" owned by `shard`.
inline std::string SkuOnShard(const std::string& prefix, size_t shard) {
  for (int n = 0;; ++n) {
    std::string sku = prefix + "-" + std::to_string(n);
    if (ShardOfKey(sku) == shard) return sku;
  }
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
  ClientContext context;
  SetDeadline(context);
  v1::Product response;
  Status status = stub.CreateProduct(&context, request, &response);
  if (product) *product = std::move(response);
  return status;
}

inline Status GetProduct(Stub& stub, const std::string& sku, v1::Product* product = nullptr) {
  ClientContext context;
  SetDeadline(context);
  v1::GetProductRequest request;
  request.set_sku(sku);
  v1::Product response;
  Status status = stub.GetProduct(&context, request, &response);
  if (product) *product = std::move(response);
  return status;
}

inline Status AdjustStock(Stub& stub, const std::string& sku, int64_t delta,
                          v1::Product* product = nullptr) {
  ClientContext context;
  SetDeadline(context);
  v1::AdjustStockRequest request;
  request.set_sku(sku);
  request.set_delta(delta);
  v1::Product response;
  Status status = stub.AdjustStock(&context, request, &response);
  if (product) *product = std::move(response);
  return status;
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
  ClientContext context;
  SetDeadline(context);
  v1::Reservation response;
  Status status = stub.ReserveStock(&context, request, &response);
  if (reservation) *reservation = std::move(response);
  return status;
}

inline Status CommitReservation(Stub& stub, const std::string& id,
                                v1::Reservation* reservation = nullptr) {
  ClientContext context;
  SetDeadline(context);
  v1::CommitReservationRequest request;
  request.set_reservation_id(id);
  v1::Reservation response;
  Status status = stub.CommitReservation(&context, request, &response);
  if (reservation) *reservation = std::move(response);
  return status;
}

inline Status ReleaseReservation(Stub& stub, const std::string& id,
                                 v1::Reservation* reservation = nullptr) {
  ClientContext context;
  SetDeadline(context);
  v1::ReleaseReservationRequest request;
  request.set_reservation_id(id);
  v1::Reservation response;
  Status status = stub.ReleaseReservation(&context, request, &response);
  if (reservation) *reservation = std::move(response);
  return status;
}

// One ListProducts call: the products streamed, the status and the next-page-token trailer.
struct Page {
  Status status;
  std::vector<v1::Product> products;
  std::string token;  // empty when absent
  bool more() const { return !token.empty(); }
};

inline Page ListPage(Stub& stub, int32_t page_size, const std::string& page_token = "") {
  ClientContext context;
  SetDeadline(context);
  v1::ListProductsRequest request;
  request.set_page_size(page_size);
  request.set_page_token(page_token);
  Page page;
  auto reader = stub.ListProducts(&context, request);
  v1::Product product;
  while (reader->Read(&product)) page.products.push_back(product);
  page.status = reader->Finish();
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find(kNextPageTokenKey);
  if (it != trailers.end()) page.token.assign(it->second.data(), it->second.size());
  return page;
}

class InventoryServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    def_ = inventory::MakeInventoryService(options_);
    testing::ServerFixtureOptions fixture_options;
    fixture_options.shards = kShards;
    server_ = std::make_unique<testing::ServerFixture>(testing::ServerFixture::Services{def_},
                                                       fixture_options);
    grpc::Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.error_message();
    stub_ = server_->MakeStub<v1::InventoryService>();
  }

  void TearDown() override {
    stub_.reset();
    server_.reset();  // Shutdown(0) and join the shards
  }

  // A stub on its own connection.
  std::unique_ptr<Stub> NewStub() {
    return server_->MakeStub<v1::InventoryService>(server_->NewChannel());
  }

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
  std::shared_ptr<inventory::InventoryHandler::Def> def_;
  std::unique_ptr<testing::ServerFixture> server_;
  std::unique_ptr<Stub> stub_;
};

}  // namespace percore::inventory_test
