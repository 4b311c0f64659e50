// order.v1.OrderService CancelOrder (a confirmed order: refund and stock back; an order in
// flight: cancelled at the next step, everything given back; a finished one: FAILED_PRECONDITION)
// and ListOrders (a user's orders, oldest first, paged with a keyed next-page-token).

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "tests/services/order/order_test_support.h"

namespace percore::order_test {
namespace {

class CancelOrderTest : public OrderServiceTest {
 protected:
  // tok_slow holds a payment for a second: time enough to cancel the order mid-flight.
  payment::PaymentServiceOptions PaymentOptions() override { return {.slow_delay = 1000ms}; }
};

TEST_F(CancelOrderTest, CancellingAConfirmedOrderRefundsAndReturnsTheStock) {
  std::string user = MustCreateUser();
  std::string a = SkuOnShard("a", 0);
  std::string b = SkuOnShard("b", 1);
  MustCreateProduct(a, 10, 500);
  MustCreateProduct(b, 10, 700);
  v1::Order order = MustCreateOrder(OrderRequest(user, {{a, 2}, {b, 3}}));
  ASSERT_TRUE(Ended(order, v1::ORDER_STATUS_CONFIRMED));
  ASSERT_TRUE(StockIs(a, 8, 0));

  v1::Order cancelled;
  Status status = CancelOrder(*NewStub(), order.id(), &cancelled);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_TRUE(Ended(cancelled, v1::ORDER_STATUS_CANCELLED));
  EXPECT_EQ(cancelled.id(), order.id());
  EXPECT_EQ(cancelled.transaction_id(), order.transaction_id());
  EXPECT_TRUE(StockIs(a, 10, 0));
  EXPECT_TRUE(StockIs(b, 10, 0));
  pay::PaymentResult payment = MustGetPayment(order.transaction_id());
  EXPECT_EQ(payment.status(), pay::PaymentResult::PAYMENT_STATUS_REFUNDED);
  EXPECT_TRUE(Ended(MustGetOrder(order.id()), v1::ORDER_STATUS_CANCELLED));

  // Once cancelled, it stays so, and a retried CreateOrder would not revive it.
  EXPECT_TRUE(
      IsErrorNaming(CancelOrder(*stub_, order.id()), StatusCode::FAILED_PRECONDITION, "CANCELLED"));
  EXPECT_TRUE(StockIs(a, 10, 0));
}

TEST_F(CancelOrderTest, FailedOrderCannotBeCancelled) {
  std::string user = MustCreateUser();
  std::string sku = SkuOnShard("sku", 0);
  MustCreateProduct(sku, 1);
  v1::Order order = MustCreateOrder(OrderRequest(user, {{sku, 5}}));
  ASSERT_TRUE(Ended(order, v1::ORDER_STATUS_FAILED, v1::FAILURE_CODE_OUT_OF_STOCK));
  EXPECT_TRUE(
      IsErrorNaming(CancelOrder(*stub_, order.id()), StatusCode::FAILED_PRECONDITION, "FAILED"));
  EXPECT_TRUE(
      Ended(MustGetOrder(order.id()), v1::ORDER_STATUS_FAILED, v1::FAILURE_CODE_OUT_OF_STOCK));
}

TEST_F(CancelOrderTest, CancelWhilePaymentIsInFlightEndsCancelledAndGivesEverythingBack) {
  std::string user = MustCreateUser();
  std::string sku = SkuOnShard("sku", 1);
  MustCreateProduct(sku, 5);
  Watch watch(*stub_, Watch::OfUser(user), 30s);
  watch.WaitUntilRegistered();
  // tok_slow keeps the order RESERVED while the processor thinks.
  v1::Order created;
  Status create_status;
  std::thread buyer([&] {
    auto stub = NewStub();
    create_status = CreateOrder(*stub, OrderRequest(user, {{sku, 2}}, "tok_slow"), &created);
  });
  std::optional<v1::OrderUpdate> pending = watch.Next();
  ASSERT_TRUE(pending.has_value());
  std::string id = pending->order_id();
  ASSERT_TRUE(IsUpdate(pending, id, v1::ORDER_STATUS_UNSPECIFIED, v1::ORDER_STATUS_PENDING));
  ASSERT_TRUE(IsUpdate(watch.Next(), id, v1::ORDER_STATUS_PENDING, v1::ORDER_STATUS_RESERVED));

  v1::Order cancelled;
  Status status = CancelOrder(*stub_, id, &cancelled);
  buyer.join();
  ASSERT_TRUE(status.ok()) << Describe(status);
  ASSERT_TRUE(create_status.ok()) << Describe(create_status);
  EXPECT_TRUE(Ended(cancelled, v1::ORDER_STATUS_CANCELLED));
  // The CreateOrder call sees the same outcome.
  EXPECT_EQ(created.id(), id);
  EXPECT_TRUE(Ended(created, v1::ORDER_STATUS_CANCELLED));
  EXPECT_TRUE(StockIs(sku, 5, 0));
  // The payment went through before the cancel took effect, and was refunded.
  ASSERT_FALSE(cancelled.transaction_id().empty());
  EXPECT_EQ(MustGetPayment(cancelled.transaction_id()).status(),
            pay::PaymentResult::PAYMENT_STATUS_REFUNDED);
  // The watcher saw the way there: PAID (the step that was running), then CANCELLED.
  EXPECT_TRUE(IsUpdate(watch.Next(), id, v1::ORDER_STATUS_RESERVED, v1::ORDER_STATUS_PAID));
  EXPECT_TRUE(IsUpdate(watch.Next(), id, v1::ORDER_STATUS_PAID, v1::ORDER_STATUS_CANCELLED));
  EXPECT_EQ(ParkedReplies(), 0);
}

class ListOrdersTest : public OrderServiceTest {};

TEST_F(ListOrdersTest, PagesThroughOneUsersOrdersOldestFirst) {
  std::string user = MustCreateUser();
  std::string other = MustCreateUser("Grace");
  std::string sku = SkuOnShard("sku", 0);
  MustCreateProduct(sku, 100);
  std::vector<std::string> mine;
  auto other_connection = NewStub();
  for (int i = 0; i < 7; ++i) {
    // Alternate connections, so the creates arrive on both shards.
    mine.push_back(
        MustCreateOrder(OrderRequest(user, {{sku, 1}}), i % 2 ? other_connection.get() : nullptr)
            .id());
    if (i % 2 == 0) MustCreateOrder(OrderRequest(other, {{sku, 1}}));
  }

  std::vector<std::string> seen;
  std::vector<size_t> sizes;
  std::string token;
  for (int pages = 0; pages < 10; ++pages) {
    Page page = ListPage(*stub_, user, 3, token);
    ASSERT_TRUE(page.status.ok()) << Describe(page.status);
    sizes.push_back(page.items.size());
    for (const v1::Order& order : page.items) {
      EXPECT_EQ(order.user_id(), user);
      seen.push_back(order.id());
    }
    if (!page.more()) break;
    token = page.token;
  }
  EXPECT_EQ(seen, mine);
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 3, 1}));
  // The default page holds them all, and the other user has their own list.
  EXPECT_EQ(ListPage(*stub_, user, 0).items.size(), 7u);
  EXPECT_EQ(ListPage(*stub_, other, 0).items.size(), 4u);
}

TEST_F(ListOrdersTest, PageTokenOfAnotherUserIsInvalid) {
  std::string user = MustCreateUser();
  std::string other = MustCreateUser("Grace");
  std::string sku = SkuOnShard("sku", 1);
  MustCreateProduct(sku, 100);
  for (int i = 0; i < 3; ++i) MustCreateOrder(OrderRequest(user, {{sku, 1}}));
  Page first = ListPage(*stub_, user, 2);
  ASSERT_TRUE(first.more());
  EXPECT_TRUE(
      IsInvalidArgumentNaming(ListPage(*stub_, other, 2, first.token).status, "page_token"));
  Page second = ListPage(*stub_, user, 2, first.token);
  ASSERT_TRUE(second.status.ok()) << Describe(second.status);
  EXPECT_EQ(second.items.size(), 1u);
  EXPECT_FALSE(second.more());
}

}  // namespace
}  // namespace percore::order_test
