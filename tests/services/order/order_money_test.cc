// Money balances on every path (issue 15, defect 1): an order that ends FAILED or CANCELLED
// never keeps an approved, unrefunded charge, whatever the caller's deadline. The caller's
// deadline bounds how long the caller waits, not whether the books balance.

#include <gtest/gtest.h>

#include <string>

#include "tests/services/order/order_test_support.h"

namespace percore::order_test {
namespace {

class OrderMoneyTest : public OrderServiceTest {
 protected:
  // ProcessPayment exactly as the saga sent it (its key is the order's id).
  pay::PaymentResult ChargeAgainAsTheSaga(const v1::Order& order, const std::string& token) {
    pay::ProcessPaymentRequest request;
    request.set_order_id(order.id());
    *request.mutable_amount() = order.total();
    request.mutable_method()->set_token(token);
    request.set_idempotency_key(order.id());
    ClientContext context;
    SetDeadline(context);
    pay::PaymentResult result;
    Status status = payments_->ProcessPayment(&context, request, &result);
    EXPECT_TRUE(status.ok()) << Describe(status);
    return result;
  }
};

TEST_F(OrderMoneyTest, AChargeApprovedAfterTheCallersDeadlineIsRefunded) {
  std::string user = MustCreateUser();
  std::string sku = SkuOnShard("sku", 1);
  MustCreateProduct(sku, 5);
  v1::CreateOrderRequest request = OrderRequest(user, {{sku, 2}}, "tok_slow", "late-charge");
  // tok_slow is approved 200 ms after the request; the caller waits 100 ms. The saga's payment
  // step ends at that deadline too, so on a loaded machine its FAILED order may reach the caller
  // just before the caller's own deadline fires: either answer means the caller stopped waiting.
  v1::Order first;
  Status gave_up = CreateOrder(*stub_, request, &first, 100ms);
  if (gave_up.ok()) {
    ASSERT_TRUE(Ended(first, v1::ORDER_STATUS_FAILED, v1::FAILURE_CODE_PAYMENT_TIMEOUT));
  } else {
    ASSERT_TRUE(HasCode(gave_up, StatusCode::DEADLINE_EXCEEDED));
  }
  // The same key returns the settled order (waiting for the saga if it still runs).
  v1::Order settled;
  Status again = CreateOrder(*stub_, request, &settled);
  ASSERT_TRUE(again.ok()) << Describe(again);
  EXPECT_TRUE(Ended(settled, v1::ORDER_STATUS_FAILED, v1::FAILURE_CODE_PAYMENT_TIMEOUT));
  EXPECT_TRUE(StockIs(sku, 5, 0));
  // The processor approved the charge after the order stopped waiting: it is refunded.
  ASSERT_TRUE(WaitFor([&] { return Charges() == 1 && Refunds() == 1; }, 20s))
      << "charges " << Charges() << ", refunds " << Refunds();
  EXPECT_EQ(ChargeAgainAsTheSaga(settled, "tok_slow").status(),
            pay::PaymentResult::PAYMENT_STATUS_REFUNDED);
}

TEST_F(OrderMoneyTest, ManyCallersGivingUpEarlyLeaveNoChargeStanding) {
  std::string user = MustCreateUser();
  std::string sku = SkuOnShard("sku", 0);
  MustCreateProduct(sku, 100);
  constexpr int kOrders = 12;
  // Deadlines from 20 ms to 350 ms: some give up before the reservation, some while the
  // processor thinks, some after it approved.
  auto request = [&](int i) {
    return OrderRequest(user, {{sku, 1}}, "tok_slow", "early-" + std::to_string(i));
  };
  for (int i = 0; i < kOrders; ++i) {
    CreateOrder(*stub_, request(i), nullptr, std::chrono::milliseconds(20 + 30 * i));
  }
  // Each key again, waiting this time: the settled order (or, where the first call gave up
  // before an order existed, a new one).
  int64_t confirmed = 0;
  for (int i = 0; i < kOrders; ++i) {
    v1::Order order;
    Status status = CreateOrder(*stub_, request(i), &order);
    ASSERT_TRUE(status.ok()) << "key " << i << ": " << Describe(status);
    ASSERT_TRUE(order.status() == v1::ORDER_STATUS_CONFIRMED ||
                order.status() == v1::ORDER_STATUS_FAILED)
        << order.ShortDebugString();
    if (order.status() == v1::ORDER_STATUS_CONFIRMED) ++confirmed;
  }
  // Every approval is either a confirmed order's or refunded.
  ASSERT_TRUE(WaitFor([&] { return Charges() - Refunds() == confirmed; }, 20s))
      << "charges " << Charges() << ", refunds " << Refunds() << ", confirmed " << confirmed;
  EXPECT_TRUE(StockIs(sku, 100 - confirmed, 0));
}

}  // namespace
}  // namespace percore::order_test
