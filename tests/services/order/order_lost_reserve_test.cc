// A ReserveStock whose answer is lost holds stock all the same (issue 15, the soak's "units
// still reserved past the ttl"): over gRPC the caller's deadline ends the call at the order
// service while inventory still makes the hold, and a connection that breaks after the hold
// loses its answer too. The saga must find such a hold by the order's key and release it before
// the order ends FAILED, not leave it to the reservation's ttl.
//
// The order service here calls the real InventoryService through a client that loses the first
// ReserveStock answers the way the remote client does (the hold made, the answer an error), or
// loses the request itself (nothing held).

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "tests/services/order/order_test_support.h"

namespace percore::order_test {
namespace {

// Threading: called on any shard; its knobs are atomics set by the test thread.
class LosingInventoryClient final : public ForwardingInventoryClient {
 public:
  enum class Lose { kAnswerToDeadline, kAnswerToBrokenConnection, kRequest };

  explicit LosingInventoryClient(std::shared_ptr<clients::InventoryClient> inner)
      : ForwardingInventoryClient(std::move(inner)) {}

  // The next `count` ReserveStock calls are lost `how`.
  void LoseNextReserves(int count, Lose how) {
    how_.store(how);
    to_lose_.store(count);
  }

  void ReserveStock(inv::ReserveStockRequest request, const clients::CallOptions& options,
                    clients::Done<inv::Reservation> done) override {
    if (to_lose_.fetch_sub(1) <= 0) {
      inner().ReserveStock(std::move(request), options, std::move(done));
      return;
    }
    Lose how = how_.load();
    if (how == Lose::kRequest) {
      done(percore::Status(percore::StatusCode::kUnavailable, "the request was lost"),
           inv::Reservation());
      return;
    }
    percore::StatusCode code = how == Lose::kAnswerToDeadline
                                   ? percore::StatusCode::kDeadlineExceeded
                                   : percore::StatusCode::kUnavailable;
    inner().ReserveStock(std::move(request), options,
                         [done = std::move(done), code](const percore::Status&, inv::Reservation) {
                           done(percore::Status(code, "the answer was lost"), inv::Reservation());
                         });
  }

 private:
  std::atomic<Lose> how_{Lose::kAnswerToDeadline};
  std::atomic<int> to_lose_{0};
};

class LostReserveTest : public OrderServiceTest {
 protected:
  std::shared_ptr<clients::InventoryClient> InventoryForOrders(
      std::shared_ptr<clients::InventoryClient> inventory) override {
    losing_ = std::make_shared<LosingInventoryClient>(std::move(inventory));
    return losing_;
  }

  // An order of 2 units of a product of 5 whose ReserveStock is lost `how`: it fails, and
  // nothing stays held or charged for it.
  void ExpectNothingHeldAfter(LosingInventoryClient::Lose how) {
    std::string user = MustCreateUser();
    std::string sku = SkuOnShard("sku", 1);
    MustCreateProduct(sku, 5);
    losing_->LoseNextReserves(1, how);
    v1::Order order = MustCreateOrder(OrderRequest(user, {{sku, 2}}));
    EXPECT_TRUE(Ended(order, v1::ORDER_STATUS_FAILED, v1::FAILURE_CODE_SERVICE_UNAVAILABLE));
    // The answer comes once the saga ended: its compensation is done by then.
    EXPECT_TRUE(StockIs(sku, 5, 0));
    EXPECT_EQ(Charges(), 0);
    // And the next order of the same units goes through.
    EXPECT_TRUE(Ended(MustCreateOrder(OrderRequest(user, {{sku, 5}})), v1::ORDER_STATUS_CONFIRMED));
    EXPECT_TRUE(StockIs(sku, 0, 0));
  }

  std::shared_ptr<LosingInventoryClient> losing_;
};

TEST_F(LostReserveTest, AHoldWhoseAnswerMissedTheDeadlineIsReleased) {
  ExpectNothingHeldAfter(LosingInventoryClient::Lose::kAnswerToDeadline);
}

TEST_F(LostReserveTest, AHoldWhoseConnectionBrokeIsReleased) {
  ExpectNothingHeldAfter(LosingInventoryClient::Lose::kAnswerToBrokenConnection);
}

TEST_F(LostReserveTest, ALostRequestHoldsNothing) {
  // The look-up by key makes the hold the lost request did not: it is released as well.
  ExpectNothingHeldAfter(LosingInventoryClient::Lose::kRequest);
}

}  // namespace
}  // namespace percore::order_test
