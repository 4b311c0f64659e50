// order.v1.OrderService request validation: every malformed request is INVALID_ARGUMENT with a
// message naming the field, and creates nothing; well-formed unknown ids are NOT_FOUND.

#include <gtest/gtest.h>

#include <string>

#include "tests/services/order/order_test_support.h"

namespace percore::order_test {
namespace {

class OrderValidationTest : public OrderServiceTest {};

TEST_F(OrderValidationTest, CreateOrderNamesTheBadField) {
  std::string user = MustCreateUser();
  std::string sku = SkuOnShard("sku", 0);
  MustCreateProduct(sku, 10);
  struct Case {
    v1::CreateOrderRequest request;
    std::string field;
  };
  std::vector<Case> cases;
  cases.push_back({OrderRequest("", {{sku, 1}}), "user_id"});
  cases.push_back({OrderRequest("not-a-uuid", {{sku, 1}}), "user_id"});
  cases.push_back({OrderRequest(user, {}), "items"});
  cases.push_back({OrderRequest(user, {{"", 1}}), "items[0].sku"});
  cases.push_back({OrderRequest(user, {{sku, 1}, {"bad sku!", 1}}), "items[1].sku"});
  cases.push_back({OrderRequest(user, {{std::string(65, 'x'), 1}}), "items[0].sku"});
  cases.push_back({OrderRequest(user, {{sku, 0}}), "items[0].quantity"});
  cases.push_back({OrderRequest(user, {{sku, -3}}), "items[0].quantity"});
  cases.push_back({OrderRequest(user, {{sku, 1}, {"other", 1}, {sku, 2}}), "items[2].sku"});
  cases.push_back({OrderRequest(user, {{sku, 1}, {sku, 1}}), "items[1].sku"});
  cases.push_back({OrderRequest(user, {{sku, 1}}, ""), "payment_method.token"});
  cases.push_back(
      {OrderRequest(user, {{sku, 1}}, "tok_approve", std::string(129, 'k')), "idempotency_key"});
  std::vector<Line> too_many;
  for (int i = 0; i < 101; ++i) too_many.push_back({"sku-" + std::to_string(i), 1});
  cases.push_back({OrderRequest(user, too_many), "items"});
  for (const Case& c : cases) {
    Status status = CreateOrder(*stub_, c.request);
    EXPECT_TRUE(IsInvalidArgumentNaming(status, c.field)) << c.request.ShortDebugString();
  }
  // Nothing was created, held or charged.
  EXPECT_TRUE(ListPage(*stub_, user, 100).items.empty());
  EXPECT_TRUE(StockIs(sku, 10, 0));
  EXPECT_EQ(Charges(), 0);
  // The limits themselves are fine.
  v1::Order order =
      MustCreateOrder(OrderRequest(user, {{sku, 1}}, "tok_approve", std::string(128, 'k')));
  EXPECT_TRUE(Ended(order, v1::ORDER_STATUS_CONFIRMED));
}

TEST_F(OrderValidationTest, GetAndCancelNameTheIdAndUnknownIsNotFound) {
  for (const std::string& bad :
       {std::string(), std::string("123"), std::string("01890a5d-ac96-774b-bcce-b302099a805z")}) {
    EXPECT_TRUE(IsInvalidArgumentNaming(GetOrder(*stub_, bad), "id")) << bad;
    EXPECT_TRUE(IsInvalidArgumentNaming(CancelOrder(*stub_, bad), "id")) << bad;
  }
  EXPECT_TRUE(
      IsErrorNaming(GetOrder(*stub_, kUnknownOrderId), StatusCode::NOT_FOUND, kUnknownOrderId));
  EXPECT_TRUE(
      IsErrorNaming(CancelOrder(*stub_, kUnknownOrderId), StatusCode::NOT_FOUND, kUnknownOrderId));
}

TEST_F(OrderValidationTest, ListOrdersNamesTheBadField) {
  std::string user = MustCreateUser();
  EXPECT_TRUE(IsInvalidArgumentNaming(ListPage(*stub_, "", 10).status, "user_id"));
  EXPECT_TRUE(IsInvalidArgumentNaming(ListPage(*stub_, "nope", 10).status, "user_id"));
  EXPECT_TRUE(IsInvalidArgumentNaming(ListPage(*stub_, user, -1).status, "page_size"));
  EXPECT_TRUE(IsInvalidArgumentNaming(ListPage(*stub_, user, 10, "garbage").status, "page_token"));
}

TEST_F(OrderValidationTest, WatchNamesTheBadTarget) {
  auto finish = [&](const v1::WatchOrderUpdatesRequest& request) {
    Watch watch(*stub_, request, 20s);
    return watch.DrainAndFinish();
  };
  EXPECT_TRUE(IsInvalidArgumentNaming(finish(v1::WatchOrderUpdatesRequest()), "user_id"));
  EXPECT_TRUE(IsInvalidArgumentNaming(finish(v1::WatchOrderUpdatesRequest()), "order_id"));
  EXPECT_TRUE(IsInvalidArgumentNaming(finish(Watch::OfUser("x")), "user_id"));
  EXPECT_TRUE(IsInvalidArgumentNaming(finish(Watch::OfOrder("")), "order_id"));
  EXPECT_TRUE(IsInvalidArgumentNaming(finish(Watch::OfOrder("y")), "order_id"));
  EXPECT_TRUE(IsErrorNaming(finish(Watch::OfOrder(kUnknownOrderId)), StatusCode::NOT_FOUND,
                            kUnknownOrderId));
}

}  // namespace
}  // namespace percore::order_test
