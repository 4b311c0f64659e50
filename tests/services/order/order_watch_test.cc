// order.v1.OrderService.WatchOrderUpdates end to end: registration signalled by initial
// metadata, every transition of a user's orders in commit order (PENDING, RESERVED, PAID,
// CONFIRMED, or to FAILED), a watch of one order that ends OK after FAILED or CANCELLED, a slow
// watcher cut off with RESOURCE_EXHAUSTED, shutdown ending watches, and cancelled watches
// leaving nothing behind.

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/services/order/order_test_support.h"

namespace percore::order_test {
namespace {

constexpr v1::OrderStatus kNone = v1::ORDER_STATUS_UNSPECIFIED;
constexpr v1::OrderStatus kPending = v1::ORDER_STATUS_PENDING;
constexpr v1::OrderStatus kReserved = v1::ORDER_STATUS_RESERVED;
constexpr v1::OrderStatus kPaid = v1::ORDER_STATUS_PAID;
constexpr v1::OrderStatus kConfirmed = v1::ORDER_STATUS_CONFIRMED;
constexpr v1::OrderStatus kFailed = v1::ORDER_STATUS_FAILED;
constexpr v1::OrderStatus kCancelled = v1::ORDER_STATUS_CANCELLED;

class OrderWatchTest : public OrderServiceTest {};

TEST_F(OrderWatchTest, WatchOfAUserSeesEveryTransitionOfEachOrder) {
  std::string user = MustCreateUser();
  std::string sku = SkuOnShard("sku", 1);
  MustCreateProduct(sku, 1);
  // From another connection: the watch may be served by the other shard than the orders.
  auto watch_stub = NewStub();
  Watch watch(*watch_stub, Watch::OfUser(user), 30s);
  watch.WaitUntilRegistered();

  v1::Order confirmed = MustCreateOrder(OrderRequest(user, {{sku, 1}}));
  ASSERT_TRUE(Ended(confirmed, kConfirmed));
  v1::Order failed = MustCreateOrder(OrderRequest(user, {{sku, 1}}));
  ASSERT_TRUE(Ended(failed, kFailed, v1::FAILURE_CODE_OUT_OF_STOCK));

  const std::string& a = confirmed.id();
  EXPECT_TRUE(IsUpdate(watch.Next(), a, kNone, kPending));
  EXPECT_TRUE(IsUpdate(watch.Next(), a, kPending, kReserved));
  EXPECT_TRUE(IsUpdate(watch.Next(), a, kReserved, kPaid));
  std::optional<v1::OrderUpdate> last = watch.Next();
  EXPECT_TRUE(IsUpdate(last, a, kPaid, kConfirmed));
  // The update carries the order as it became.
  if (last) {
    EXPECT_EQ(last->order().SerializeAsString(), confirmed.SerializeAsString());
  }
  const std::string& b = failed.id();
  EXPECT_TRUE(IsUpdate(watch.Next(), b, kNone, kPending));
  std::optional<v1::OrderUpdate> end = watch.Next();
  EXPECT_TRUE(IsUpdate(end, b, kPending, kFailed));
  if (end) {
    EXPECT_EQ(end->order().failure_code(), v1::FAILURE_CODE_OUT_OF_STOCK);
  }

  // A user watch outlives FAILED: the next order shows up too.
  v1::Order third = MustCreateOrder(OrderRequest(user, {{sku, 1}}, "tok_decline"));
  EXPECT_TRUE(IsUpdate(watch.Next(), third.id(), kNone, kPending));
}

TEST_F(OrderWatchTest, WatchOfAUserSeesNoOtherUsersOrders) {
  std::string user = MustCreateUser();
  std::string other = MustCreateUserOnShard(ShardOfUuid(user));  // same shard, other user
  std::string sku = SkuOnShard("sku", 0);
  MustCreateProduct(sku, 10);
  Watch watch(*stub_, Watch::OfUser(user), 30s);
  watch.WaitUntilRegistered();
  MustCreateOrder(OrderRequest(other, {{sku, 1}}));
  v1::Order mine = MustCreateOrder(OrderRequest(user, {{sku, 1}}));
  EXPECT_TRUE(IsUpdate(watch.Next(), mine.id(), kNone, kPending));
}

TEST_F(OrderWatchTest, WatchOfAnOrderSeesItFailThenEndsOk) {
  // tok_timeout holds the order RESERVED for the whole payment deadline (2 s by default):
  // time enough to learn its id from the user's watch and watch the order itself.
  std::string user = MustCreateUser();
  std::string sku = SkuOnShard("sku", 0);
  MustCreateProduct(sku, 3);
  Watch by_user(*stub_, Watch::OfUser(user), 30s);
  by_user.WaitUntilRegistered();
  v1::Order created;
  std::thread buyer([&] {
    auto stub = NewStub();
    CreateOrder(*stub, OrderRequest(user, {{sku, 1}}, "tok_timeout"), &created);
  });
  std::optional<v1::OrderUpdate> pending = by_user.Next();
  ASSERT_TRUE(pending.has_value());
  std::string id = pending->order_id();
  ASSERT_TRUE(IsUpdate(by_user.Next(), id, kPending, kReserved));

  Watch by_order(*stub_, Watch::OfOrder(id), 30s);
  by_order.WaitUntilRegistered();
  std::optional<v1::OrderUpdate> failed = by_order.Next();
  buyer.join();
  ASSERT_TRUE(IsUpdate(failed, id, kReserved, kFailed));
  EXPECT_EQ(failed->order().failure_code(), v1::FAILURE_CODE_PAYMENT_TIMEOUT);
  std::optional<v1::OrderUpdate> extra = by_order.Next();
  EXPECT_FALSE(extra.has_value()) << "an update after FAILED: " << extra->ShortDebugString();
  Status status = by_order.Finish();
  EXPECT_TRUE(status.ok()) << "the order watch did not end OK after FAILED: " << Describe(status);
  EXPECT_TRUE(IsUpdate(by_user.Next(), id, kReserved, kFailed));
  EXPECT_TRUE(Ended(created, kFailed, v1::FAILURE_CODE_PAYMENT_TIMEOUT));
  EXPECT_TRUE(StockIs(sku, 3, 0));
}

TEST_F(OrderWatchTest, WatchOfAConfirmedOrderSeesItsCancelThenEndsOk) {
  std::string user = MustCreateUser();
  std::string sku = SkuOnShard("sku", 1);
  MustCreateProduct(sku, 3);
  v1::Order order = MustCreateOrder(OrderRequest(user, {{sku, 1}}));
  ASSERT_TRUE(Ended(order, kConfirmed));
  auto watch_stub = NewStub();
  Watch watch(*watch_stub, Watch::OfOrder(order.id()), 30s);
  watch.WaitUntilRegistered();
  ASSERT_TRUE(CancelOrder(*stub_, order.id()).ok());
  EXPECT_TRUE(IsUpdate(watch.Next(), order.id(), kConfirmed, kCancelled));
  EXPECT_FALSE(watch.Next().has_value());
  Status status = watch.Finish();
  EXPECT_TRUE(status.ok()) << Describe(status);
}

TEST_F(OrderWatchTest, WatchOfAFinishedOrderEndsOkAtOnce) {
  std::string user = MustCreateUser();
  std::string sku = SkuOnShard("sku", 0);
  MustCreateProduct(sku, 1);
  v1::Order order = MustCreateOrder(OrderRequest(user, {{sku, 2}}));
  ASSERT_TRUE(Ended(order, kFailed, v1::FAILURE_CODE_OUT_OF_STOCK));
  Watch watch(*stub_, Watch::OfOrder(order.id()), 30s);
  EXPECT_FALSE(watch.Next().has_value());
  Status status = watch.Finish();
  EXPECT_TRUE(status.ok()) << Describe(status);
}

class SlowOrderWatcherTest : public OrderServiceTest {
 protected:
  order::OrderServiceOptions OrderOptions() override { return {.watch_backlog_limit = 16}; }
};

// A channel whose client does not grow its HTTP/2 receive window (no BDP probing), so a watcher
// that stops reading soon stops the server's writes and its events pile up on the server.
std::shared_ptr<grpc::Channel> SmallWindowChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt("grpc.http2.bdp_probe", 0);
  args.SetString("percore.test.channel", "slow-order-watcher");
  args.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

TEST_F(SlowOrderWatcherTest, WatcherThatStopsReadingIsCutOffAndOrdersKeepGoing) {
  constexpr int kOrders = 300;
  std::string user = MustCreateUser();
  // Ten lines with long SKUs make each update about 1.5 KB, so transport buffers hold few.
  std::vector<Line> lines;
  for (int i = 0; i < 10; ++i) {
    std::string sku = "a-rather-long-product-sku-to-make-updates-bigger-" + std::to_string(i);
    MustCreateProduct(sku, kOrders);
    lines.push_back({sku, 1});
  }
  auto watch_stub = v1::OrderService::NewStub(SmallWindowChannel(server_->address()));
  Watch watch(*watch_stub, Watch::OfUser(user), 120s);
  watch.WaitUntilRegistered();
  std::vector<std::string> ids;
  for (int i = 0; i < kOrders; ++i) {
    v1::Order order = MustCreateOrder(OrderRequest(user, lines));
    ASSERT_TRUE(Ended(order, kConfirmed)) << "order " << i;
    ids.push_back(order.id());
  }
  // Now it reads: a gap-free prefix of the transitions, then RESOURCE_EXHAUSTED.
  const v1::OrderStatus path[] = {kPending, kReserved, kPaid, kConfirmed};
  int received = 0;
  while (std::optional<v1::OrderUpdate> update = watch.Next()) {
    int order = received / 4;
    v1::OrderStatus status = path[received % 4];
    ASSERT_TRUE(IsUpdate(update, ids[order], received % 4 ? path[received % 4 - 1] : kNone, status))
        << "update " << received << " skipped or out of order";
    ++received;
  }
  Status status = watch.Finish();
  EXPECT_TRUE(HasCode(status, StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_GE(received, 1);
  EXPECT_LT(received, 4 * kOrders) << "every update was delivered, so nothing was bounded";
  EXPECT_TRUE(WaitFor([&] { return OpenWatches() == 0 && FeedSubscribers() == 0; }, 10s));
}

TEST_F(OrderWatchTest, CancelledWatchesLeaveNothingBehind) {
  constexpr int kWatches = 40;
  std::string user = MustCreateUser();
  std::string sku = SkuOnShard("sku", 0);
  MustCreateProduct(sku, 10);
  v1::Order order = MustCreateOrder(OrderRequest(user, {{sku, 1}}));
  std::vector<std::unique_ptr<Stub>> stubs;
  std::vector<std::unique_ptr<Watch>> watches;
  for (int i = 0; i < kWatches; ++i) {
    stubs.push_back(NewStub());
    watches.push_back(std::make_unique<Watch>(
        *stubs.back(), i % 2 ? Watch::OfUser(user) : Watch::OfOrder(order.id()), 30s));
    watches.back()->WaitUntilRegistered();
  }
  EXPECT_EQ(OpenWatches(), kWatches);
  EXPECT_EQ(FeedSubscribers(), kWatches);
  for (auto& watch : watches) {
    watch->Cancel();
    EXPECT_TRUE(HasCode(watch->DrainAndFinish(), StatusCode::CANCELLED));
  }
  EXPECT_TRUE(WaitFor([&] { return OpenWatches() == 0 && FeedSubscribers() == 0; }, 10s))
      << OpenWatches() << " watches, " << FeedSubscribers() << " subscriptions left";
  // Writes find no dead watcher to feed, and every call is freed.
  MustCreateOrder(OrderRequest(user, {{sku, 1}}));
  EXPECT_TRUE(server_->WaitUntilNoCalls(10s));
}

TEST_F(OrderWatchTest, ShutdownEndsOpenWatches) {
  std::string user = MustCreateUser();
  std::vector<std::unique_ptr<Stub>> stubs;
  std::vector<std::unique_ptr<Watch>> watches;
  for (int i = 0; i < 4; ++i) {
    stubs.push_back(NewStub());
    watches.push_back(std::make_unique<Watch>(*stubs.back(), Watch::OfUser(user), 30s));
    watches.back()->WaitUntilRegistered();
  }
  // The drain ends the watches with a reason (rather than a cancel when the grace runs out).
  server_->Shutdown(20s);
  for (auto& watch : watches) {
    EXPECT_TRUE(IsErrorNaming(watch->DrainAndFinish(), StatusCode::UNAVAILABLE, "shutting down"));
  }
}

}  // namespace
}  // namespace percore::order_test
