#pragma once
// Threading contract: an OrderServiceTest is driven from the test's main thread. The free
// helpers take the stub to use, so worker threads call them with their own stubs (one
// connection each, which spreads calls over the shards). Server-side state is read on each
// shard's own thread (OnEveryShard), never from the test thread.
//
// order.v1.OrderService end to end: one real percore server on a loopback port with 2 shards
// hosting the real UserService, InventoryService, PaymentService and OrderService, the order
// service reaching the others through their in-process clients (UserService,
// LocalInventoryClient, LocalPaymentClient), and the generated gRPC clients of all four.

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/runtime/shard_for.h"
#include "core/storage/partition_of.h"
#include "inventory/v1/inventory.grpc.pb.h"
#include "order/v1/order.grpc.pb.h"
#include "payment/v1/payment.grpc.pb.h"
#include "services/inventory/inventory_handler.h"
#include "services/inventory/local_inventory_client.h"
#include "services/order/order_handler.h"
#include "services/payment/local_payment_client.h"
#include "services/payment/payment_handler.h"
#include "services/user/user_handler.h"
#include "services/user/user_service.h"
#include "tests/testing/server_fixture.h"
#include "user/v1/user.grpc.pb.h"

namespace percore::order_test {

namespace v1 = ::order::v1;
namespace inv = ::inventory::v1;
namespace pay = ::payment::v1;
namespace usr = ::user::v1;
using ::grpc::ClientContext;
using ::grpc::Status;
using ::grpc::StatusCode;
using ::percore::testing::WaitFor;
using Stub = v1::OrderService::Stub;
using namespace std::chrono_literals;

// No call in these suites may hang them: every client context gets a deadline.
constexpr auto kCallTimeout = 30s;
constexpr int kShards = 2;
constexpr char kNextPageTokenKey[] = "next-page-token";
// Well-formed UUIDv7s that no fresh server issued.
constexpr char kUnknownUserId[] = "01890a5d-ac96-774b-bcce-b302099a8057";
constexpr char kUnknownOrderId[] = "01890a5d-ac96-774b-bcce-b302099a8058";

inline void SetDeadline(ClientContext& context, std::chrono::milliseconds timeout = kCallTimeout) {
  context.set_deadline(std::chrono::system_clock::now() + timeout);
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

// `code` with a message that contains `text` (a field name, an id).
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
  for (int n = 0;; ++n) {
    std::string sku = prefix + "-" + std::to_string(n);
    if (storage::PartitionOf(sku, kShards) == shard) return sku;
  }
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
  ClientContext context;
  SetDeadline(context, timeout);
  v1::Order response;
  Status status = stub.CreateOrder(&context, request, &response);
  if (order) *order = std::move(response);
  return status;
}

inline Status GetOrder(Stub& stub, const std::string& id, v1::Order* order = nullptr) {
  ClientContext context;
  SetDeadline(context);
  v1::GetOrderRequest request;
  request.set_id(id);
  v1::Order response;
  Status status = stub.GetOrder(&context, request, &response);
  if (order) *order = std::move(response);
  return status;
}

inline Status CancelOrder(Stub& stub, const std::string& id, v1::Order* order = nullptr) {
  ClientContext context;
  SetDeadline(context);
  v1::CancelOrderRequest request;
  request.set_id(id);
  v1::Order response;
  Status status = stub.CancelOrder(&context, request, &response);
  if (order) *order = std::move(response);
  return status;
}

// One ListOrders call: the orders streamed, the status and the next-page-token trailer.
struct Page {
  Status status;
  std::vector<v1::Order> orders;
  std::string token;  // empty when absent
  bool more() const { return !token.empty(); }
};

inline Page ListPage(Stub& stub, const std::string& user_id, int32_t page_size,
                     const std::string& page_token = "") {
  ClientContext context;
  SetDeadline(context);
  v1::ListOrdersRequest request;
  request.set_user_id(user_id);
  request.set_page_size(page_size);
  request.set_page_token(page_token);
  Page page;
  auto reader = stub.ListOrders(&context, request);
  v1::Order order;
  while (reader->Read(&order)) page.orders.push_back(order);
  page.status = reader->Finish();
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find(kNextPageTokenKey);
  if (it != trailers.end()) page.token.assign(it->second.data(), it->second.size());
  return page;
}

// A synchronous WatchOrderUpdates stream. Destroying it cancels the stream if it is still open.
class Watch {
 public:
  Watch(Stub& stub, const v1::WatchOrderUpdatesRequest& request,
        std::chrono::milliseconds timeout = 60s) {
    SetDeadline(context_, timeout);
    reader_ = stub.WatchOrderUpdates(&context_, request);
  }
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
  ~Watch() {
    if (finished_) return;
    context_.TryCancel();
    v1::OrderUpdate ignored;
    while (reader_->Read(&ignored)) {
    }
    reader_->Finish();
  }
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

  // Returns once the server's initial metadata arrived: from then on every change is delivered.
  void WaitUntilRegistered() { reader_->WaitForInitialMetadata(); }

  // The next update, or nullopt once the stream has ended (then call Finish()).
  std::optional<v1::OrderUpdate> Next() {
    v1::OrderUpdate update;
    if (!reader_->Read(&update)) return std::nullopt;
    return update;
  }
  Status Finish() {
    finished_ = true;
    return reader_->Finish();
  }
  Status DrainAndFinish() {
    v1::OrderUpdate ignored;
    while (reader_->Read(&ignored)) {
    }
    return Finish();
  }
  void Cancel() { context_.TryCancel(); }

 private:
  ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::OrderUpdate>> reader_;
  bool finished_ = false;
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

class OrderServiceTest : public ::testing::Test {
 protected:
  // What each suite may change (a short payment deadline, a small backlog, ...).
  virtual order::OrderServiceOptions OrderOptions() { return {}; }
  virtual payment::PaymentServiceOptions PaymentOptions() { return {}; }

  void SetUp() override {
    auto users = std::make_shared<user::UserService>();
    users_def_ = user::MakeUserGrpcService(users);
    inventory_def_ = inventory::MakeInventoryService();
    payments_def_ = payment::MakePaymentService(PaymentOptions());
    clients::ServiceClients clients;
    clients.users = users;  // the service API is the in-process client
    clients.inventory = std::make_shared<inventory::LocalInventoryClient>(inventory_def_);
    clients.payments = std::make_shared<payment::LocalPaymentClient>(payments_def_);
    orders_def_ = order::MakeOrderService(clients, OrderOptions());
    testing::ServerFixtureOptions options;
    options.shards = kShards;
    server_ = std::make_unique<testing::ServerFixture>(
        testing::ServerFixture::Services{users_def_, inventory_def_, payments_def_, orders_def_},
        options);
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.error_message();
    stub_ = server_->MakeStub<v1::OrderService>();
    users_ = server_->MakeStub<usr::UserService>();
    inventory_ = server_->MakeStub<inv::InventoryService>();
    payments_ = server_->MakeStub<pay::PaymentService>();
  }

  void TearDown() override {
    stub_.reset();
    server_.reset();  // Shutdown(0) and join the shards
  }

  // An order stub on its own connection (so its calls may land on the other shard).
  std::unique_ptr<Stub> NewStub() {
    return server_->MakeStub<v1::OrderService>(server_->NewChannel());
  }

  std::string MustCreateUser(const std::string& name = "Ada",
                             usr::UserService::Stub* stub = nullptr) {
    static std::atomic<int> next{0};
    usr::CreateUserRequest request;
    request.set_name(name);
    request.set_email("buyer" + std::to_string(next.fetch_add(1)) + "@example.com");
    ClientContext context;
    SetDeadline(context);
    usr::User user;
    Status status = (stub ? stub : users_.get())->CreateUser(&context, request, &user);
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
    ClientContext context;
    SetDeadline(context);
    inv::Product product;
    Status status = inventory_->CreateProduct(&context, request, &product);
    ASSERT_TRUE(status.ok()) << "CreateProduct(" << sku << "): " << Describe(status);
  }

  inv::Product MustGetProduct(const std::string& sku) {
    inv::GetProductRequest request;
    request.set_sku(sku);
    ClientContext context;
    SetDeadline(context);
    inv::Product product;
    Status status = inventory_->GetProduct(&context, request, &product);
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
    ClientContext context;
    SetDeadline(context);
    pay::PaymentResult result;
    Status status = payments_->GetPayment(&context, request, &result);
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
    int64_t total = 0;
    for (size_t s = 0; s < server_->runtime().size(); ++s) {
      std::promise<int64_t> result;
      server_->runtime().SubmitTo(static_cast<runtime::ShardId>(s), [&] {
        result.set_value(static_cast<int64_t>(fn(def.local(*runtime::Shard::Current()))));
      });
      total += result.get_future().get();
    }
    return total;
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
  std::unique_ptr<testing::ServerFixture> server_;
  std::unique_ptr<Stub> stub_;
  std::unique_ptr<usr::UserService::Stub> users_;
  std::unique_ptr<inv::InventoryService::Stub> inventory_;
  std::unique_ptr<pay::PaymentService::Stub> payments_;
};

}  // namespace percore::order_test
