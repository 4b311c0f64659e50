// A cancelled order's compensation that fails is not only logged (issue 15): the stock return of
// a cancelled CONFIRMED order is ReturnReservation, idempotent, so the saga asks again after a
// lost answer without returning twice; past its attempts the order is answered CANCELLED with
// compensation_pending, counted in /metrics, and the return is retried in the background until
// it is done, which clears the flag.
//
// The order service here calls the real InventoryService through a client that loses the answers
// of the first ReturnReservation calls (the return made, the answer an error, as a connection
// broken after the request, or an inventory killed after it applied the return, would).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "tests/services/order/order_test_support.h"

namespace percore::order_test {
namespace {

// Threading: called on any shard; its knob is an atomic set by the test thread.
class LosingReturnsClient final : public ForwardingInventoryClient {
 public:
  explicit LosingReturnsClient(std::shared_ptr<clients::InventoryClient> inner)
      : ForwardingInventoryClient(std::move(inner)) {}

  // The answers of the next `count` ReturnReservation calls are lost (the call is made).
  void LoseNextReturns(int count) { to_lose_.store(count); }
  int returns_asked() const { return asked_.load(); }
  // The next `count` ReleaseReservation calls find inventory unreachable (not made).
  void FailNextReleases(int count) { releases_to_fail_.store(count); }

  void ReleaseReservation(inv::ReleaseReservationRequest request,
                          const clients::CallOptions& options,
                          clients::Done<inv::Reservation> done) override {
    if (releases_to_fail_.fetch_sub(1) <= 0) {
      inner().ReleaseReservation(std::move(request), options, std::move(done));
      return;
    }
    done(percore::Status(percore::StatusCode::kUnavailable, "inventory is unreachable"),
         inv::Reservation());
  }

  void ReturnReservation(inv::ReturnReservationRequest request, const clients::CallOptions& options,
                         clients::Done<inv::Reservation> done) override {
    ++asked_;
    if (to_lose_.fetch_sub(1) <= 0) {
      inner().ReturnReservation(std::move(request), options, std::move(done));
      return;
    }
    inner().ReturnReservation(
        std::move(request), options,
        [done = std::move(done)](const percore::Status&, inv::Reservation) {
          done(percore::Status(percore::StatusCode::kUnavailable, "the answer was lost"),
               inv::Reservation());
        });
  }

 private:
  std::atomic<int> to_lose_{0};
  std::atomic<int> asked_{0};
  std::atomic<int> releases_to_fail_{0};
};

class PendingCompensationTest : public OrderServiceTest {
 protected:
  std::shared_ptr<clients::InventoryClient> InventoryForOrders(
      std::shared_ptr<clients::InventoryClient> inventory) override {
    losing_ = std::make_shared<LosingReturnsClient>(std::move(inventory));
    return losing_;
  }
  order::OrderServiceOptions OrderOptions() override {
    order::OrderServiceOptions options;
    options.compensation_retry = std::chrono::milliseconds(200);
    return options;
  }

  int64_t Pending() {
    return SumOverShards(*orders_def_, [](order::OrderHandler& h) {
      return static_cast<int64_t>(h.compensations_pending());
    });
  }

  // A CONFIRMED order of 2 units of a product of 5 (3 left).
  v1::Order Confirmed(std::string* sku) {
    std::string user = MustCreateUser();
    *sku = SkuOnShard("sku", 1);
    MustCreateProduct(*sku, 5);
    v1::Order order = MustCreateOrder(OrderRequest(user, {{*sku, 2}}));
    EXPECT_TRUE(Ended(order, v1::ORDER_STATUS_CONFIRMED));
    EXPECT_TRUE(StockIs(*sku, 3, 0));
    return order;
  }

  std::shared_ptr<LosingReturnsClient> losing_;
};

TEST_F(PendingCompensationTest, AReturnWhoseAnswerWasLostIsAskedAgainAndMadeOnce) {
  std::string sku;
  v1::Order order = Confirmed(&sku);
  losing_->LoseNextReturns(1);
  v1::Order cancelled;
  ASSERT_TRUE(CancelOrder(*stub_, order.id(), &cancelled).ok());
  EXPECT_EQ(cancelled.status(), v1::ORDER_STATUS_CANCELLED);
  EXPECT_FALSE(cancelled.compensation_pending());
  EXPECT_EQ(losing_->returns_asked(), 2);
  EXPECT_TRUE(StockIs(sku, 5, 0));  // returned by the first call, not again by the second
}

TEST_F(PendingCompensationTest, AReturnFailingPastItsAttemptsIsPendingThenDone) {
  std::string sku;
  v1::Order order = Confirmed(&sku);
  // Every attempt while the cancel waits (compensation_attempts, 3) loses its answer.
  losing_->LoseNextReturns(order::OrderServiceOptions{}.compensation_attempts);
  v1::Order cancelled;
  ASSERT_TRUE(CancelOrder(*stub_, order.id(), &cancelled).ok());
  EXPECT_EQ(cancelled.status(), v1::ORDER_STATUS_CANCELLED);
  EXPECT_TRUE(cancelled.compensation_pending()) << cancelled.ShortDebugString();
  EXPECT_TRUE(MustGetOrder(order.id()).compensation_pending());
  EXPECT_EQ(Pending(), 1);
  // The background retry asks again: done once, and the flag cleared.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (MustGetOrder(order.id()).compensation_pending() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  v1::Order later = MustGetOrder(order.id());
  EXPECT_EQ(later.status(), v1::ORDER_STATUS_CANCELLED);
  EXPECT_FALSE(later.compensation_pending());
  EXPECT_EQ(Pending(), 0);
  EXPECT_GT(losing_->returns_asked(), 3);
  EXPECT_TRUE(StockIs(sku, 5, 0));  // once, though every lost answer's return was made
}

TEST_F(PendingCompensationTest, AFailedOrdersReasonDropsWhatWasPendingOnceItIsGivenBack) {
  std::string user = MustCreateUser();
  std::string sku = SkuOnShard("sku", 1);
  MustCreateProduct(sku, 5);
  // Declined: the hold is released, but inventory stays unreachable through every attempt.
  losing_->FailNextReleases(order::OrderServiceOptions{}.compensation_attempts);
  v1::Order failed = MustCreateOrder(OrderRequest(user, {{sku, 2}}, "tok_decline"));
  ASSERT_TRUE(Ended(failed, v1::ORDER_STATUS_FAILED, v1::FAILURE_CODE_PAYMENT_DECLINED));
  EXPECT_TRUE(failed.compensation_pending());
  const std::string& reason = failed.failure_reason();
  size_t mark = reason.find("; compensation pending: ");
  ASSERT_NE(mark, std::string::npos) << reason;
  EXPECT_NE(reason.find("could not be released", mark), std::string::npos) << reason;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (MustGetOrder(failed.id()).compensation_pending() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  v1::Order later = MustGetOrder(failed.id());
  EXPECT_FALSE(later.compensation_pending());
  EXPECT_EQ(later.failure_code(), v1::FAILURE_CODE_PAYMENT_DECLINED);
  // Why it failed stays; what was pending is replaced by the fact that it was given back.
  EXPECT_EQ(later.failure_reason(), reason.substr(0, mark) + "; compensated later");
  EXPECT_TRUE(StockIs(sku, 5, 0));
}

}  // namespace
}  // namespace percore::order_test
