#pragma once
// Threading contract: an OrderServiceTest is driven from the test's main thread. The free
// helpers take the stub to use, so worker threads call them with their own stubs (one
// connection each, which spreads calls over the shards). Server-side state is read on each
// shard's own thread (OnEveryShard), never from the test thread.
//
// order.v1.OrderService end to end: one real percore server on a loopback port with 2 shards
// hosting the real UserService, InventoryService, PaymentService and OrderService, the order
// service reaching the others through their in-process clients (UserService,
// InventoryService, PaymentService), and the generated gRPC clients of all four.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/runtime/shard_for.h"
#include "inventory/v1/inventory.grpc.pb.h"
#include "order/v1/order.grpc.pb.h"
#include "payment/v1/payment.grpc.pb.h"
#include "services/inventory/inventory_handler.h"
#include "services/order/order_handler.h"
#include "services/payment/payment_handler.h"
#include "services/user/user_handler.h"
#include "services/user/user_service.h"
#include "tests/testing/e2e.h"
#include "user/v1/user.grpc.pb.h"

namespace percore::order_test {

namespace v1 = ::order::v1;
using namespace ::percore::testing::e2e;
namespace inv = ::inventory::v1;
namespace pay = ::payment::v1;
namespace usr = ::user::v1;
using ::grpc::Status;
using ::grpc::StatusCode;
using Stub = v1::OrderService::Stub;

// No call in these suites may hang them: every client call gets a deadline. Orders cross four
// services, so theirs is longer than the default.
constexpr std::chrono::milliseconds kCallTimeout = 30s;
constexpr int kShards = 2;
// Well-formed UUIDv7s that no fresh server issued.
constexpr char kUnknownUserId[] = "01890a5d-ac96-774b-bcce-b302099a8057";
constexpr char kUnknownOrderId[] = "01890a5d-ac96-774b-bcce-b302099a8058";

inline void SetDeadline(ClientContext& context, std::chrono::milliseconds timeout = kCallTimeout) {
  testing::SetDeadline(context, timeout);
}

inline std::string StatusName(v1::OrderStatus status) { return v1::OrderStatus_Name(status); }

// The order ended in `status` (and, for FAILED, with `code`).
inline ::testing::AssertionResult Ended(const v1::Order& order, v1::OrderStatus status,
                                        v1::FailureCode code = v1::FAILURE_CODE_UNSPECIFIED) {
  if (order.status() != status) {
    return ::testing::AssertionFailure() << "status " << StatusName(order.status()) << ", expected "
                                         << StatusName(status) << ": " << order.ShortDebugString();
  }
  if (order.failure_code() != code) {
    return ::testing::AssertionFailure()
           << "failure_code " << v1::FailureCode_Name(order.failure_code()) << ", expected "
           << v1::FailureCode_Name(code) << ": " << order.ShortDebugString();
  }
  if (status == v1::ORDER_STATUS_FAILED && order.failure_reason().empty()) {
    return ::testing::AssertionFailure() << "FAILED without a failure_reason";
  }
  return ::testing::AssertionSuccess();
}

// The shard PartitionOf gives a UUID's 16 bytes (where a user's orders live).
inline size_t ShardOfUuid(const std::string& text) {
  std::optional<Uuid> id = Uuid::Parse(text);
  return id ? runtime::ShardFor(id->view(), kShards) : 0;
}

// A SKU "<prefix>-<n>" owned by inventory shard `shard`.
inline std::string SkuOnShard(const std::string& prefix, size_t shard) {
  return testing::KeyOnShard(prefix, shard, kShards);
}

struct Line {
  std::string sku;
  int64_t quantity;
};

inline v1::CreateOrderRequest OrderRequest(const std::string& user_id,
                                           const std::vector<Line>& lines,
                                           const std::string& token = "tok_approve",
                                           const std::string& idempotency_key = "") {
  v1::CreateOrderRequest request;
  request.set_user_id(user_id);
  for (const Line& line : lines) {
    v1::LineItem* item = request.add_items();
    item->set_sku(line.sku);
    item->set_quantity(line.quantity);
  }
  request.mutable_payment_method()->set_token(token);
  request.set_idempotency_key(idempotency_key);
  return request;
}

inline Status CreateOrder(Stub& stub, const v1::CreateOrderRequest& request,
                          v1::Order* order = nullptr,
                          std::chrono::milliseconds timeout = kCallTimeout) {
  return CallUnary(stub, &Stub::CreateOrder, request, order, timeout);
}

// GetOrder or CancelOrder (an order id in, the order out): `method` is &Stub::GetOrder or
// &Stub::CancelOrder.
template <class Request>
Status CallById(Stub& stub, Status (Stub::*method)(ClientContext*, const Request&, v1::Order*),
                const std::string& id, v1::Order* order) {
  Request request;
  request.set_id(id);
  return CallUnary(stub, method, request, order, kCallTimeout);
}

inline Status GetOrder(Stub& stub, const std::string& id, v1::Order* order = nullptr) {
  return CallById(stub, &Stub::GetOrder, id, order);
}

inline Status CancelOrder(Stub& stub, const std::string& id, v1::Order* order = nullptr) {
  return CallById(stub, &Stub::CancelOrder, id, order);
}

// One ListOrders call: the orders streamed (items), the status and the next-page-token.
using Page = testing::StreamPage<v1::Order>;

inline Page ListPage(Stub& stub, const std::string& user_id, int32_t page_size,
                     const std::string& page_token = "") {
  v1::ListOrdersRequest request;
  request.set_user_id(user_id);
  request.set_page_size(page_size);
  request.set_page_token(page_token);
  return testing::ReadStream(stub, &Stub::ListOrders, request, kCallTimeout);
}

// A WatchOrderUpdates stream (of a user's orders or of one order). Destroying it cancels the
// stream if it is still open.
class Watch : public testing::ServerStream<v1::OrderUpdate> {
 public:
  Watch(Stub& stub, const v1::WatchOrderUpdatesRequest& request,
        std::chrono::milliseconds timeout = 60s)
      : ServerStream(stub, &Stub::WatchOrderUpdates, request, timeout) {}
  static v1::WatchOrderUpdatesRequest OfUser(const std::string& user_id) {
    v1::WatchOrderUpdatesRequest request;
    request.set_user_id(user_id);
    return request;
  }
  static v1::WatchOrderUpdatesRequest OfOrder(const std::string& order_id) {
    v1::WatchOrderUpdatesRequest request;
    request.set_order_id(order_id);
    return request;
  }
};

// `got` is an update of `order_id` from `previous` to `status`, carrying the order as it became.
inline ::testing::AssertionResult IsUpdate(const std::optional<v1::OrderUpdate>& got,
                                           const std::string& order_id, v1::OrderStatus previous,
                                           v1::OrderStatus status) {
  if (!got) return ::testing::AssertionFailure() << "the stream ended; expected an update";
  if (got->order_id() != order_id || got->status() != status ||
      got->previous_status() != previous || got->order().id() != order_id ||
      got->order().status() != status || !got->has_changed_at()) {
    return ::testing::AssertionFailure()
           << "expected " << order_id << " " << StatusName(previous) << " -> " << StatusName(status)
           << ", got {" << got->ShortDebugString() << "}";
  }
  return ::testing::AssertionSuccess();
}

// An InventoryClient passing every call to `inner`: a test's client derives from it and overrides
// only the calls it changes (InventoryForOrders). Threading: as its inner client.
class ForwardingInventoryClient : public clients::InventoryClientVia<ForwardingInventoryClient> {
 public:
  explicit ForwardingInventoryClient(std::shared_ptr<clients::InventoryClient> inner)
      : inner_(std::move(inner)) {}

 protected:
  clients::InventoryClient& inner() { return *inner_; }

 private:
  friend class clients::InventoryClientVia<ForwardingInventoryClient>;
  template <size_t op, class Req, class Resp>
  void Send(Req request, const clients::CallOptions& options, clients::Done<Resp> done) {
    (inner_.get()->*std::get<op>(clients::kInventoryOps))(std::move(request), options,
                                                          std::move(done));
  }

  std::shared_ptr<clients::InventoryClient> inner_;
};

class OrderServiceTest : public testing::ServiceTest<v1::OrderService> {
 protected:
  // What each suite may change (a short payment deadline, a small backlog, ...).
  virtual order::OrderServiceOptions OrderOptions() { return {}; }
  virtual payment::PaymentServiceOptions PaymentOptions() { return {}; }
  // The inventory client the order service calls: a suite may wrap the in-process one (to lose
  // answers, say); the inventory gRPC service is the unwrapped one either way.
  virtual std::shared_ptr<clients::InventoryClient> InventoryForOrders(
      std::shared_ptr<clients::InventoryClient> inventory) {
    return inventory;
  }

  Services MakeServices() override {
    auto users = std::make_shared<user::UserService>();
    users_def_ = user::MakeUserGrpcService(users);
    auto inventory = std::make_shared<inventory::InventoryService>();
    inventory_def_ = inventory::MakeInventoryGrpcService(inventory);
    auto payments = std::make_shared<payment::PaymentService>(PaymentOptions());
    payments_def_ = payment::MakePaymentGrpcService(payments);
    clients::ServiceClients clients;
    clients.users = users;  // the service API is the in-process client
    clients.inventory = InventoryForOrders(inventory);
    clients.payments = payments;
    orders_def_ = order::MakeOrderService(clients, OrderOptions());
    return {users_def_, inventory_def_, payments_def_, orders_def_};
  }
  testing::ServerFixtureOptions FixtureOptions() override { return {.shards = kShards}; }

  void SetUp() override {
    ServiceTest::SetUp();
    users_ = server_->MakeStub<usr::UserService>();
    inventory_ = server_->MakeStub<inv::InventoryService>();
    payments_ = server_->MakeStub<pay::PaymentService>();
  }

  std::string MustCreateUser(const std::string& name = "Ada",
                             usr::UserService::Stub* stub = nullptr) {
    static std::atomic<int> next{0};
    usr::CreateUserRequest request;
    request.set_name(name);
    request.set_email("buyer" + std::to_string(next.fetch_add(1)) + "@example.com");
    usr::User user;
    Status status = CallUnary(stub ? *stub : *users_, &usr::UserService::Stub::CreateUser, request,
                              &user, kCallTimeout);
    EXPECT_TRUE(status.ok()) << "CreateUser: " << Describe(status);
    return user.id();
  }

  // A user whose orders live on order shard `shard`. UserService keeps a new user on the shard
  // the call arrived on, so each attempt uses a new connection (and perhaps another shard).
  std::string MustCreateUserOnShard(size_t shard) {
    for (int attempt = 0; attempt < 200; ++attempt) {
      auto stub = server_->MakeStub<usr::UserService>(server_->NewChannel());
      std::string id = MustCreateUser("Ada", stub.get());
      if (id.empty() || ShardOfUuid(id) == shard) return id;
    }
    ADD_FAILURE() << "no user landed on shard " << shard;
    return "";
  }

  void MustCreateProduct(const std::string& sku, int64_t stock, int64_t price_minor = 1250,
                         const std::string& currency = "USD") {
    inv::CreateProductRequest request;
    request.set_sku(sku);
    request.set_name("Product " + sku);
    request.mutable_price()->set_amount_minor(price_minor);
    request.mutable_price()->set_currency(currency);
    request.set_initial_stock(stock);
    Status status = CallUnary(*inventory_, &inv::InventoryService::Stub::CreateProduct, request,
                              static_cast<inv::Product*>(nullptr), kCallTimeout);
    ASSERT_TRUE(status.ok()) << "CreateProduct(" << sku << "): " << Describe(status);
  }

  inv::Product MustGetProduct(const std::string& sku) {
    inv::GetProductRequest request;
    request.set_sku(sku);
    inv::Product product;
    Status status = CallUnary(*inventory_, &inv::InventoryService::Stub::GetProduct, request,
                              &product, kCallTimeout);
    EXPECT_TRUE(status.ok()) << "GetProduct(" << sku << "): " << Describe(status);
    return product;
  }

  // Stock on hand and held, as inventory reports them.
  ::testing::AssertionResult StockIs(const std::string& sku, int64_t stock, int64_t reserved) {
    inv::Product product = MustGetProduct(sku);
    if (product.stock() == stock && product.reserved() == reserved &&
        product.available() == stock - reserved) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << sku << ": stock " << product.stock() << ", reserved " << product.reserved()
           << ", available " << product.available() << "; expected stock " << stock << ", reserved "
           << reserved;
  }

  pay::PaymentResult MustGetPayment(const std::string& transaction_id) {
    pay::GetPaymentRequest request;
    request.set_transaction_id(transaction_id);
    pay::PaymentResult result;
    Status status = CallUnary(*payments_, &pay::PaymentService::Stub::GetPayment, request, &result,
                              kCallTimeout);
    EXPECT_TRUE(status.ok()) << "GetPayment(" << transaction_id << "): " << Describe(status);
    return result;
  }

  v1::Order MustCreateOrder(const v1::CreateOrderRequest& request, Stub* stub = nullptr) {
    v1::Order order;
    Status status = CreateOrder(stub ? *stub : *stub_, request, &order);
    EXPECT_TRUE(status.ok()) << "CreateOrder(" << request.ShortDebugString()
                             << "): " << Describe(status);
    return order;
  }

  v1::Order MustGetOrder(const std::string& id) {
    v1::Order order;
    Status status = GetOrder(*stub_, id, &order);
    EXPECT_TRUE(status.ok()) << "GetOrder(" << id << "): " << Describe(status);
    return order;
  }

  // fn(handler) on every shard's own thread, results summed.
  template <class Handler, class Fn>
  int64_t SumOverShards(rpc::ServiceDef<Handler>& def, Fn fn) {
    return testing::SumOverShards(server_->runtime(), def, fn);
  }

  // Approved payments the payment service made, all shards.
  int64_t Charges() {
    return SumOverShards(*payments_def_, [](payment::PaymentHandler& h) { return h.charges(); });
  }
  // Refunds the payment service made, all shards (a refund does not undo a charge's count).
  int64_t Refunds() {
    return SumOverShards(*payments_def_,
                         [](payment::PaymentHandler& h) { return h.ledger().refunds(); });
  }
  int64_t OpenWatches() {
    return SumOverShards(*orders_def_, [](order::OrderHandler& h) { return h.watch_count(); });
  }
  int64_t FeedSubscribers() {
    return SumOverShards(
        *orders_def_, [](order::OrderHandler& h) { return h.store().feed().subscriber_count(); });
  }
  int64_t OpenChats() {
    return SumOverShards(*orders_def_, [](order::OrderHandler& h) { return h.chat_count(); });
  }
  int64_t ParkedReplies() {
    return SumOverShards(*orders_def_,
                         [](order::OrderHandler& h) { return h.parked_reply_count(); });
  }

  std::shared_ptr<user::UserHandler::Def> users_def_;
  std::shared_ptr<inventory::InventoryHandler::Def> inventory_def_;
  std::shared_ptr<payment::PaymentHandler::Def> payments_def_;
  std::shared_ptr<order::OrderHandler::Def> orders_def_;
  std::unique_ptr<usr::UserService::Stub> users_;
  std::unique_ptr<inv::InventoryService::Stub> inventory_;
  std::unique_ptr<pay::PaymentService::Stub> payments_;
};

}  // namespace percore::order_test
