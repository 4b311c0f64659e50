// order.v1.OrderService.CreateOrder end to end across the real UserService, InventoryService and
// PaymentService: the confirmed path, each failure with its compensation (nothing held, nothing
// charged), idempotent retries (sequential and concurrent: one order, one charge) and many
// buyers racing for the last units.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/services/order/order_test_support.h"

namespace percore::order_test {
namespace {

class CreateOrderTest : public OrderServiceTest {};

TEST_F(CreateOrderTest, ConfirmedOrderTakesTheStockAndChargesOnce) {
  std::string user = MustCreateUser();
  std::string near = SkuOnShard("near", 0);
  std::string far = SkuOnShard("far", 1);  // the lines live on both inventory shards
  MustCreateProduct(near, 10, 1250);
  MustCreateProduct(far, 5, 399);

  v1::Order order = MustCreateOrder(OrderRequest(user, {{near, 3}, {far, 2}}));
  ASSERT_TRUE(Ended(order, v1::ORDER_STATUS_CONFIRMED));
  EXPECT_EQ(order.user_id(), user);
  EXPECT_EQ(ShardOfUuid(order.id()), ShardOfUuid(user)) << "the order is not on its user's shard";
  ASSERT_EQ(order.items_size(), 2);
  EXPECT_EQ(order.items(0).sku(), near);
  EXPECT_EQ(order.items(0).unit_price().amount_minor(), 1250);
  EXPECT_EQ(order.items(1).unit_price().amount_minor(), 399);
  EXPECT_EQ(order.total().amount_minor(), 3 * 1250 + 2 * 399);
  EXPECT_EQ(order.total().currency(), "USD");
  EXPECT_FALSE(order.reservation_id().empty());
  EXPECT_FALSE(order.transaction_id().empty());
  EXPECT_TRUE(order.has_created_at());
  EXPECT_GE(order.updated_at().seconds(), order.created_at().seconds());

  EXPECT_TRUE(StockIs(near, 7, 0));
  EXPECT_TRUE(StockIs(far, 3, 0));
  pay::PaymentResult payment = MustGetPayment(order.transaction_id());
  EXPECT_EQ(payment.status(), pay::PaymentResult::PAYMENT_STATUS_APPROVED);
  EXPECT_EQ(payment.amount().amount_minor(), order.total().amount_minor());
  EXPECT_EQ(payment.order_id(), order.id());
  EXPECT_EQ(Charges(), 1);

  v1::Order stored = MustGetOrder(order.id());
  EXPECT_EQ(stored.SerializeAsString(), order.SerializeAsString());
}

TEST_F(CreateOrderTest, UnknownUserIsNotFoundNamingUserIdAndCreatesNothing) {
  std::string sku = SkuOnShard("sku", 0);
  MustCreateProduct(sku, 10);
  v1::Order order;
  Status status = CreateOrder(*stub_, OrderRequest(kUnknownUserId, {{sku, 1}}), &order);
  EXPECT_TRUE(IsErrorNaming(status, StatusCode::NOT_FOUND, "user_id"));
  EXPECT_TRUE(IsErrorNaming(status, StatusCode::NOT_FOUND, kUnknownUserId));
  EXPECT_TRUE(ListPage(*stub_, kUnknownUserId, 10).items.empty());
  EXPECT_TRUE(StockIs(sku, 10, 0));
  EXPECT_EQ(Charges(), 0);
}

TEST_F(CreateOrderTest, ShortageFailsOutOfStockAndHoldsNothing) {
  std::string user = MustCreateUser();
  std::string plenty = SkuOnShard("plenty", 0);
  std::string scarce = SkuOnShard("scarce", 1);
  MustCreateProduct(plenty, 10);
  MustCreateProduct(scarce, 1);
  v1::Order order = MustCreateOrder(OrderRequest(user, {{plenty, 2}, {scarce, 2}}));
  EXPECT_TRUE(Ended(order, v1::ORDER_STATUS_FAILED, v1::FAILURE_CODE_OUT_OF_STOCK));
  EXPECT_NE(order.failure_reason().find(scarce), std::string::npos) << order.failure_reason();
  EXPECT_TRUE(order.transaction_id().empty());
  EXPECT_TRUE(StockIs(plenty, 10, 0));
  EXPECT_TRUE(StockIs(scarce, 1, 0));
  EXPECT_EQ(Charges(), 0);
  EXPECT_TRUE(
      Ended(MustGetOrder(order.id()), v1::ORDER_STATUS_FAILED, v1::FAILURE_CODE_OUT_OF_STOCK));
}

TEST_F(CreateOrderTest, UnknownSkuFailsUnknownProduct) {
  std::string user = MustCreateUser();
  std::string known = SkuOnShard("known", 0);
  MustCreateProduct(known, 10);
  v1::Order order = MustCreateOrder(OrderRequest(user, {{known, 1}, {"no-such-sku", 1}}));
  EXPECT_TRUE(Ended(order, v1::ORDER_STATUS_FAILED, v1::FAILURE_CODE_UNKNOWN_PRODUCT));
  EXPECT_NE(order.failure_reason().find("no-such-sku"), std::string::npos)
      << order.failure_reason();
  EXPECT_TRUE(StockIs(known, 10, 0));
  EXPECT_EQ(Charges(), 0);
}

TEST_F(CreateOrderTest, DeclinedPaymentReleasesTheStock) {
  std::string user = MustCreateUser();
  std::string sku = SkuOnShard("sku", 1);
  MustCreateProduct(sku, 4);
  v1::Order order = MustCreateOrder(OrderRequest(user, {{sku, 3}}, "tok_decline"));
  EXPECT_TRUE(Ended(order, v1::ORDER_STATUS_FAILED, v1::FAILURE_CODE_PAYMENT_DECLINED));
  EXPECT_NE(order.failure_reason().find("card_declined"), std::string::npos)
      << order.failure_reason();
  EXPECT_FALSE(order.reservation_id().empty());
  EXPECT_TRUE(StockIs(sku, 4, 0));
  EXPECT_EQ(Charges(), 0);
}

TEST_F(CreateOrderTest, MixedCurrenciesFailAndReleaseTheStock) {
  std::string user = MustCreateUser();
  std::string dollars = SkuOnShard("usd", 0);
  std::string euros = SkuOnShard("eur", 1);
  MustCreateProduct(dollars, 5, 100, "USD");
  MustCreateProduct(euros, 5, 100, "EUR");
  v1::Order order = MustCreateOrder(OrderRequest(user, {{dollars, 1}, {euros, 1}}));
  EXPECT_TRUE(Ended(order, v1::ORDER_STATUS_FAILED, v1::FAILURE_CODE_MIXED_CURRENCIES));
  EXPECT_TRUE(StockIs(dollars, 5, 0));
  EXPECT_TRUE(StockIs(euros, 5, 0));
  EXPECT_EQ(Charges(), 0);
}

class PaymentTimeoutTest : public OrderServiceTest {
 protected:
  order::OrderServiceOptions OrderOptions() override { return {.payment_deadline = 300ms}; }
};

TEST_F(PaymentTimeoutTest, ProcessorThatNeverAnswersFailsPaymentTimeoutAndReleasesTheStock) {
  std::string user = MustCreateUser();
  std::string sku = SkuOnShard("sku", 0);
  MustCreateProduct(sku, 6);
  v1::Order order = MustCreateOrder(OrderRequest(user, {{sku, 2}}, "tok_timeout"));
  EXPECT_TRUE(Ended(order, v1::ORDER_STATUS_FAILED, v1::FAILURE_CODE_PAYMENT_TIMEOUT));
  EXPECT_TRUE(order.transaction_id().empty());
  EXPECT_TRUE(StockIs(sku, 6, 0));
  EXPECT_EQ(Charges(), 0);
  // A slow processor within the deadline still confirms.
  v1::Order slow = MustCreateOrder(OrderRequest(user, {{sku, 2}}, "tok_slow"));
  EXPECT_TRUE(Ended(slow, v1::ORDER_STATUS_CONFIRMED));
  EXPECT_TRUE(StockIs(sku, 4, 0));
}

TEST_F(CreateOrderTest, UnknownPaymentTokenFailsDeclinedAndReleasesTheStock) {
  std::string user = MustCreateUser();
  std::string sku = SkuOnShard("sku", 0);
  MustCreateProduct(sku, 3);
  v1::Order order = MustCreateOrder(OrderRequest(user, {{sku, 1}}, "tok_nonsense"));
  EXPECT_TRUE(Ended(order, v1::ORDER_STATUS_FAILED, v1::FAILURE_CODE_PAYMENT_DECLINED));
  EXPECT_TRUE(StockIs(sku, 3, 0));
  EXPECT_EQ(Charges(), 0);
}

TEST_F(CreateOrderTest, RetryWithTheSameKeyReturnsTheSameOrderAndChargesOnce) {
  std::string user = MustCreateUser();
  std::string sku = SkuOnShard("sku", 1);
  MustCreateProduct(sku, 10);
  v1::CreateOrderRequest request = OrderRequest(user, {{sku, 2}}, "tok_approve", "key-1");
  v1::Order first = MustCreateOrder(request);
  ASSERT_TRUE(Ended(first, v1::ORDER_STATUS_CONFIRMED));
  EXPECT_EQ(first.idempotency_key(), "key-1");
  auto other_connection = NewStub();
  for (int i = 0; i < 3; ++i) {
    v1::Order again = MustCreateOrder(request, i % 2 ? other_connection.get() : stub_.get());
    EXPECT_EQ(again.id(), first.id());
    EXPECT_EQ(again.transaction_id(), first.transaction_id());
    EXPECT_TRUE(Ended(again, v1::ORDER_STATUS_CONFIRMED));
  }
  EXPECT_TRUE(StockIs(sku, 8, 0));
  EXPECT_EQ(Charges(), 1);
  EXPECT_EQ(ListPage(*stub_, user, 10).items.size(), 1u);

  // Another key, or no key, is another order.
  v1::Order second = MustCreateOrder(OrderRequest(user, {{sku, 2}}, "tok_approve", "key-2"));
  v1::Order third = MustCreateOrder(OrderRequest(user, {{sku, 2}}));
  EXPECT_NE(second.id(), first.id());
  EXPECT_NE(third.id(), second.id());
  EXPECT_EQ(Charges(), 3);
}

TEST_F(CreateOrderTest, SameKeyWithDifferentItemsOrMethodIsFailedPrecondition) {
  std::string user = MustCreateUser();
  std::string a = SkuOnShard("a", 0);
  std::string b = SkuOnShard("b", 1);
  MustCreateProduct(a, 10);
  MustCreateProduct(b, 10);
  v1::Order first = MustCreateOrder(OrderRequest(user, {{a, 1}, {b, 1}}, "tok_approve", "k"));
  ASSERT_TRUE(Ended(first, v1::ORDER_STATUS_CONFIRMED));
  // The same lines in another order are the same request.
  v1::Order same = MustCreateOrder(OrderRequest(user, {{b, 1}, {a, 1}}, "tok_approve", "k"));
  EXPECT_EQ(same.id(), first.id());
  for (const v1::CreateOrderRequest& changed :
       {OrderRequest(user, {{a, 2}, {b, 1}}, "tok_approve", "k"),
        OrderRequest(user, {{a, 1}}, "tok_approve", "k"),
        OrderRequest(user, {{a, 1}, {b, 1}}, "tok_slow", "k")}) {
    Status status = CreateOrder(*stub_, changed);
    EXPECT_TRUE(IsErrorNaming(status, StatusCode::FAILED_PRECONDITION, "idempotency_key"))
        << changed.ShortDebugString();
  }
  // The key belongs to its user: another user's "k" is a new order.
  std::string other = MustCreateUser("Grace");
  v1::Order theirs = MustCreateOrder(OrderRequest(other, {{a, 2}}, "tok_approve", "k"));
  EXPECT_NE(theirs.id(), first.id());
  EXPECT_TRUE(Ended(theirs, v1::ORDER_STATUS_CONFIRMED));
  EXPECT_EQ(Charges(), 2);
}

TEST_F(CreateOrderTest, ConcurrentRetriesWithOneKeyWaitForOneOrderAndOneCharge) {
  constexpr int kCallers = 8;
  std::string user = MustCreateUser();
  std::string sku = SkuOnShard("sku", 0);
  MustCreateProduct(sku, 10);
  // tok_slow holds the first request in payment for 200 ms, so the others arrive mid-flight.
  v1::CreateOrderRequest request = OrderRequest(user, {{sku, 1}}, "tok_slow", "checkout-42");
  std::vector<v1::Order> orders(kCallers);
  std::vector<Status> statuses(kCallers);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, i] {
      auto stub = NewStub();
      statuses[i] = CreateOrder(*stub, request, &orders[i]);
    });
  }
  for (auto& t : callers) t.join();
  for (int i = 0; i < kCallers; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << "caller " << i << ": " << Describe(statuses[i]);
    EXPECT_EQ(orders[i].id(), orders[0].id()) << "caller " << i;
    EXPECT_TRUE(Ended(orders[i], v1::ORDER_STATUS_CONFIRMED)) << "caller " << i;
  }
  EXPECT_TRUE(StockIs(sku, 9, 0));
  EXPECT_EQ(Charges(), 1);
  EXPECT_EQ(ListPage(*stub_, user, 10).items.size(), 1u);
}

TEST_F(CreateOrderTest, FiftyBuyersForTheLastTenUnitsConfirmExactlyTen) {
  constexpr int kBuyers = 50;
  constexpr int kUnits = 10;
  std::string sku = SkuOnShard("last", 1);
  MustCreateProduct(sku, kUnits);
  std::vector<std::string> users;
  for (int i = 0; i < 5; ++i) users.push_back(MustCreateUserOnShard(i % kShards));

  // Someone keeps looking at the stock while the buyers race: it never goes negative.
  std::atomic<bool> done{false};
  std::atomic<int> negative{0};
  std::thread observer([&] {
    auto stub = inv::InventoryService::NewStub(server_->NewChannel());
    while (!done.load()) {
      inv::GetProductRequest request;
      request.set_sku(sku);
      ClientContext context;
      SetDeadline(context);
      inv::Product product;
      if (stub->GetProduct(&context, request, &product).ok() &&
          (product.stock() < 0 || product.available() < 0 || product.reserved() < 0)) {
        negative.fetch_add(1);
      }
    }
  });
  std::vector<v1::Order> orders(kBuyers);
  std::vector<Status> statuses(kBuyers);
  std::vector<std::thread> buyers;
  for (int i = 0; i < kBuyers; ++i) {
    buyers.emplace_back([&, i] {
      auto stub = NewStub();
      statuses[i] =
          CreateOrder(*stub, OrderRequest(users[i % users.size()], {{sku, 1}}), &orders[i]);
    });
  }
  for (auto& t : buyers) t.join();
  done.store(true);
  observer.join();

  int confirmed = 0;
  std::set<std::string> ids;
  for (int i = 0; i < kBuyers; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << "buyer " << i << ": " << Describe(statuses[i]);
    ids.insert(orders[i].id());
    if (orders[i].status() == v1::ORDER_STATUS_CONFIRMED) {
      ++confirmed;
    } else {
      EXPECT_TRUE(Ended(orders[i], v1::ORDER_STATUS_FAILED, v1::FAILURE_CODE_OUT_OF_STOCK))
          << "buyer " << i;
    }
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kBuyers)) << "two buyers got one order";
  EXPECT_EQ(confirmed, kUnits);
  EXPECT_TRUE(StockIs(sku, 0, 0));
  EXPECT_EQ(Charges(), kUnits);
  EXPECT_EQ(negative.load(), 0) << "stock was seen below zero";
}

TEST_F(CreateOrderTest, CallerDeadlineBoundsTheFlowAndTheOrderStillSettles) {
  std::string user = MustCreateUser();
  std::string sku = SkuOnShard("sku", 0);
  MustCreateProduct(sku, 5);
  // The caller gives up long before tok_timeout's processor would answer; the order must not be
  // left RESERVED: it fails and gives the stock back.
  v1::Order answered;
  Status status =
      CreateOrder(*stub_, OrderRequest(user, {{sku, 2}}, "tok_timeout"), &answered, 300ms);
  // The server's payment step ends at the caller's deadline too, so the FAILED order may still
  // make it back just in time.
  if (status.ok()) {
    EXPECT_TRUE(Ended(answered, v1::ORDER_STATUS_FAILED, v1::FAILURE_CODE_PAYMENT_TIMEOUT));
  } else {
    EXPECT_TRUE(HasCode(status, StatusCode::DEADLINE_EXCEEDED));
  }
  std::vector<v1::Order> orders;
  ASSERT_TRUE(WaitFor(
      [&] {
        orders = ListPage(*stub_, user, 10).items;
        return orders.size() == 1 && orders[0].status() == v1::ORDER_STATUS_FAILED;
      },
      20s))
      << (orders.empty() ? "no order" : orders[0].ShortDebugString());
  EXPECT_TRUE(Ended(orders[0], v1::ORDER_STATUS_FAILED, v1::FAILURE_CODE_PAYMENT_TIMEOUT));
  EXPECT_TRUE(StockIs(sku, 5, 0));
  EXPECT_EQ(Charges(), 0);
}

}  // namespace
}  // namespace percore::order_test
