// The inventory stores (StockPartition, ReservationBook) and the request rules alone, without a
// server: the pure ops the service API runs on the owning shard, and the validation every caller
// (gRPC, gateway, fuzz target) gets.

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "services/inventory/inventory_validation.h"
#include "services/inventory/reservation_book.h"
#include "services/inventory/reservation_id.h"
#include "services/inventory/service_clock.h"
#include "services/inventory/stock_partition.h"

namespace percore::inventory {
namespace {

constexpr int64_t kNow = 1'700'000'000'000'000'000;
constexpr int64_t kSecond = 1'000'000'000;
constexpr char kId[] = "rsv_00000000000000a1";
const ReserveLimits kLimits{std::chrono::seconds(60), std::chrono::hours(1), 1000};

bool Mentions(const Status& status, const std::string& text) {
  return status.message().find(text) != std::string::npos;
}

v1::CreateProductRequest Product(const std::string& sku, int64_t stock) {
  v1::CreateProductRequest request;
  request.set_sku(sku);
  request.set_name("Widget");
  request.mutable_price()->set_amount_minor(250);
  request.mutable_price()->set_currency("EUR");
  request.set_initial_stock(stock);
  return request;
}

// stock, reserved, available of `sku`.
std::vector<int64_t> Levels(const StockPartition& stock, const std::string& sku) {
  v1::Product product = *stock.Load(sku);
  return {product.stock(), product.reserved(), product.available()};
}

TEST(InventoryStoreTest, HoldBeyondStockFailsNamingTheSkuAndHoldsNothing) {
  StockPartition stock;
  ASSERT_TRUE(stock.Create(Product("a", 5), kNow).ok());
  ASSERT_TRUE(stock.Create(Product("b", 1), kNow).ok());
  Result<std::vector<commerce::v1::Money>> held =
      stock.Hold(kId, {Line{"a", 2}, Line{"b", 3}}, kNow);
  EXPECT_EQ(held.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Mentions(held.status(), "insufficient stock for sku \"b\": requested 3, available 1"))
      << held.message();
  // All or nothing: "a" was checked first but is not held either.
  EXPECT_EQ(Levels(stock, "a"), (std::vector<int64_t>{5, 0, 5}));
  EXPECT_EQ(stock.hold_count(), 0u);
  Result<std::vector<commerce::v1::Money>> unknown = stock.Hold(kId, {Line{"zz", 1}}, kNow);
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
  EXPECT_TRUE(Mentions(unknown.status(), "product \"zz\" not found")) << unknown.message();
}

TEST(InventoryStoreTest, ReleaseReturnsStockAndCommitTakesItOnce) {
  StockPartition stock;
  ASSERT_TRUE(stock.Create(Product("a", 5), kNow).ok());
  Result<std::vector<commerce::v1::Money>> held = stock.Hold(kId, {Line{"a", 2}}, kNow);
  ASSERT_TRUE(held.ok()) << held.message();
  ASSERT_EQ(held->size(), 1u);
  EXPECT_EQ((*held)[0].amount_minor(), 250);
  EXPECT_EQ(Levels(stock, "a"), (std::vector<int64_t>{5, 2, 3}));
  stock.ReleaseHold(kId, kNow);
  EXPECT_EQ(Levels(stock, "a"), (std::vector<int64_t>{5, 0, 5}));
  stock.ReleaseHold(kId, kNow);  // settled already: nothing more comes back
  EXPECT_EQ(Levels(stock, "a"), (std::vector<int64_t>{5, 0, 5}));

  ASSERT_TRUE(stock.Hold("rsv_00000000000000a2", {Line{"a", 4}}, kNow).ok());
  stock.CommitHold("rsv_00000000000000a2", kNow);
  stock.CommitHold("rsv_00000000000000a2", kNow);  // a repeat sells nothing more
  EXPECT_EQ(Levels(stock, "a"), (std::vector<int64_t>{1, 0, 1}));
}

TEST(InventoryStoreTest, AdjustBelowTheHeldUnitsIsRefused) {
  StockPartition stock;
  ASSERT_TRUE(stock.Create(Product("a", 5), kNow).ok());
  EXPECT_EQ(stock.Create(Product("a", 1), kNow).code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(stock.Hold(kId, {Line{"a", 4}}, kNow).ok());
  Result<v1::Product> adjusted = stock.Adjust("a", -2, kNow);
  EXPECT_EQ(adjusted.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Mentions(adjusted.status(), "below the 4 units held")) << adjusted.message();
  EXPECT_EQ(stock.Adjust("nope", 1, kNow).code(), StatusCode::kNotFound);
  Result<v1::Product> up = stock.Adjust("a", 3, kNow + kSecond);
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->available(), 4);
}

ReservePlan Plan(const std::string& key, std::vector<Line> lines) {
  return ReservePlan{key, std::move(lines), std::chrono::seconds(10)};
}

TEST(InventoryStoreTest, BeginIsIdempotentPerKeyAndWaitsWhilePending) {
  ReservationBook book;
  int made = 0;
  auto new_id = [&made] { return ++made == 1 ? std::string(kId) : "rsv_00000000000000b2"; };
  std::vector<Line> lines = {Line{"a", 1}};
  Result<BeginOutcome> first = book.Begin("k", lines, ReserveWaiter{0, 1}, new_id);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->kind, BeginOutcome::kStart);
  EXPECT_EQ(first->id, kId);
  // The same key while the first places its holds: the caller waits for that outcome.
  Result<BeginOutcome> second = book.Begin("k", lines, ReserveWaiter{1, 7}, new_id);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->kind, BeginOutcome::kWait);
  // Other lines under the same key: refused, naming the key.
  Result<BeginOutcome> other = book.Begin("k", {Line{"a", 2}}, ReserveWaiter{1, 8}, new_id);
  EXPECT_EQ(other.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Mentions(other.status(), "reservation_key \"k\"")) << other.message();
  // A pending reservation is not yet visible to Commit.
  EXPECT_EQ(book.Settle(kId, SettleHow::kCommit, kNow).code(), StatusCode::kNotFound);

  std::vector<ReserveWaiter> waiters = book.Activate(kId, Plan("k", lines), {{}}, kNow);
  ASSERT_EQ(waiters.size(), 1u);
  EXPECT_EQ(waiters[0].shard, 1u);
  EXPECT_EQ(waiters[0].token, 7u);
  Result<BeginOutcome> repeat = book.Begin("k", lines, ReserveWaiter{0, 9}, new_id);
  ASSERT_TRUE(repeat.ok());
  EXPECT_EQ(repeat->kind, BeginOutcome::kAnswer);
  ASSERT_TRUE(repeat->reservation.has_value());
  EXPECT_EQ(repeat->reservation->id(), kId);
  EXPECT_EQ(repeat->reservation->state(), v1::Reservation::RESERVATION_STATE_HELD);
  EXPECT_EQ(made, 1);
}

TEST(InventoryStoreTest, AFailedReservationFreesItsKey) {
  ReservationBook book;
  auto new_id = [] { return std::string(kId); };
  ASSERT_TRUE(book.Begin("k", {Line{"a", 1}}, ReserveWaiter{0, 1}, new_id).ok());
  ASSERT_TRUE(book.Begin("k", {Line{"a", 1}}, ReserveWaiter{1, 2}, new_id).ok());
  std::vector<ReserveWaiter> waiters = book.DropPending(kId);
  EXPECT_EQ(waiters.size(), 1u);  // told the same failure
  EXPECT_EQ(book.FindByKey("k"), nullptr);
  Result<BeginOutcome> again = book.Begin("k", {Line{"b", 1}}, ReserveWaiter{0, 3}, new_id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->kind, BeginOutcome::kStart);
}

TEST(InventoryStoreTest, SettleMovesHeldOnceAndNamesTheStateAfterwards) {
  ReservationBook book;
  ASSERT_TRUE(
      book.Begin("k", {Line{"a", 1}}, ReserveWaiter{0, 1}, [] { return std::string(kId); }).ok());
  (void)book.Activate(kId, Plan("k", {Line{"a", 1}}), {{}}, kNow);
  book.Find(kId)->expiry_timer = 42;
  Result<Settlement> committed = book.Settle(kId, SettleHow::kCommit, kNow + kSecond);
  ASSERT_TRUE(committed.ok()) << committed.message();
  EXPECT_EQ(committed->reservation.state(), v1::Reservation::RESERVATION_STATE_COMMITTED);
  EXPECT_EQ(committed->lines.size(), 1u);  // the holds to settle
  EXPECT_EQ(committed->cancel_timer, 42u);
  Result<Settlement> repeat = book.Settle(kId, SettleHow::kCommit, kNow + 2 * kSecond);
  ASSERT_TRUE(repeat.ok());
  EXPECT_TRUE(repeat->lines.empty());  // settled by the first call
  Result<Settlement> release = book.Settle(kId, SettleHow::kRelease, kNow);
  EXPECT_EQ(release.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(release.message(),
            std::string("reservation ") + kId + " was committed; it can no longer be released");
  EXPECT_EQ(book.Settle("rsv_00000000000000ff", SettleHow::kRelease, kNow).code(),
            StatusCode::kNotFound);
}

TEST(InventoryStoreTest, APendingReturnIsAppliedOnceHoweverOftenAsked) {
  StockPartition stock;
  ASSERT_TRUE(stock.Create(Product("a", 5), kNow).ok());
  ASSERT_TRUE(stock.Hold(kId, {Line{"a", 4}}, kNow).ok());
  stock.CommitHold(kId, kNow);
  EXPECT_EQ(Levels(stock, "a"), (std::vector<int64_t>{1, 0, 1}));
  stock.PrepareReturn(kId, {Line{"a", 4}});
  EXPECT_EQ(Levels(stock, "a"), (std::vector<int64_t>{1, 0, 1}));  // not before it is decided
  stock.ApplyReturn(kId, kNow);
  EXPECT_EQ(Levels(stock, "a"), (std::vector<int64_t>{5, 0, 5}));
  stock.ApplyReturn(kId, kNow);  // a repeat returns nothing more
  EXPECT_EQ(Levels(stock, "a"), (std::vector<int64_t>{5, 0, 5}));
  EXPECT_TRUE(stock.returns().empty());
}

TEST(InventoryStoreTest, AReturnIsDecidedOnceAndOnlyForACommittedReservation) {
  ReservationBook book;
  ASSERT_TRUE(
      book.Begin("k", {Line{"a", 2}}, ReserveWaiter{0, 1}, [] { return std::string(kId); }).ok());
  (void)book.Activate(kId, Plan("k", {Line{"a", 2}}), {{}}, kNow);
  Result<Settlement> held = book.BeginReturn(kId);
  EXPECT_EQ(held.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Mentions(held.status(), "was held; only a committed one can be returned"))
      << held.message();
  ASSERT_TRUE(book.Settle(kId, SettleHow::kCommit, kNow).ok());

  Result<Settlement> first = book.BeginReturn(kId);
  ASSERT_TRUE(first.ok()) << first.message();
  EXPECT_EQ(first->lines.size(), 1u);  // the pending returns to place
  // While the first call places them, another is told to retry (it changes nothing).
  EXPECT_EQ(book.BeginReturn(kId).code(), StatusCode::kUnavailable);
  Settlement decided = book.DecideReturn(kId, kNow + kSecond);
  EXPECT_EQ(decided.reservation.state(), v1::Reservation::RESERVATION_STATE_RETURNED);
  Result<Settlement> repeat = book.BeginReturn(kId);
  ASSERT_TRUE(repeat.ok());
  EXPECT_TRUE(repeat->lines.empty());  // returned by the first call: nothing to return again
  EXPECT_EQ(repeat->reservation.state(), v1::Reservation::RESERVATION_STATE_RETURNED);
  EXPECT_EQ(book.Settle(kId, SettleHow::kRelease, kNow).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(book.BeginReturn("rsv_00000000000000ff").code(), StatusCode::kNotFound);
}

TEST(InventoryStoreTest, ExpiresOnlyWhenDueUnlessItsTimerRan) {
  ReservationBook book;
  ASSERT_TRUE(
      book.Begin("k", {Line{"a", 1}}, ReserveWaiter{0, 1}, [] { return std::string(kId); }).ok());
  (void)book.Activate(kId, Plan("k", {Line{"a", 1}}), {{}}, kNow);  // ttl 10 s
  EXPECT_FALSE(book.Expire(kId, kNow + 9 * kSecond).has_value());
  std::optional<Settlement> expired = book.Expire(kId, kNow + 10 * kSecond);
  ASSERT_TRUE(expired.has_value());
  EXPECT_EQ(expired->reservation.state(), v1::Reservation::RESERVATION_STATE_EXPIRED);
  EXPECT_EQ(expired->lines.size(), 1u);  // the holds go back to stock
  EXPECT_FALSE(book.Expire(kId, kNow + 11 * kSecond, /*force=*/true).has_value());
  Result<Settlement> commit = book.Settle(kId, SettleHow::kCommit, kNow + 11 * kSecond);
  EXPECT_EQ(commit.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Mentions(commit.status(), "was expired")) << commit.message();
}

// The records' times are set in place: the same value TimeUtil's conversion gives, negative
// times (nanos in [0, 1e9), the seconds one lower) included.
TEST(InventoryStoreTest, SetTimestampMatchesTimeUtil) {
  using google::protobuf::util::TimeUtil;
  for (int64_t nanos : {kNow, kNow + 1, int64_t{0}, int64_t{-1}, -kSecond, -kSecond - 1,
                        3 * kSecond + 999'999'999, -3 * kSecond + 1}) {
    google::protobuf::Timestamp set;
    set.set_seconds(42);  // overwritten whole
    set.set_nanos(7);
    SetTimestamp(&set, nanos);
    google::protobuf::Timestamp expected = TimeUtil::NanosecondsToTimestamp(nanos);
    EXPECT_EQ(set.seconds(), expected.seconds()) << nanos;
    EXPECT_EQ(set.nanos(), expected.nanos()) << nanos;
    EXPECT_EQ(TimeUtil::TimestampToNanoseconds(set), nanos);
  }
}

TEST(InventoryValidationTest, ReserveRulesNameTheField) {
  v1::ReserveStockRequest request;
  EXPECT_EQ(ValidateReserveStock(request, kLimits).message(), "reservation_key is required");
  request.set_reservation_key("k");
  EXPECT_EQ(ValidateReserveStock(request, kLimits).message(), "lines must not be empty");
  v1::StockLine* line = request.add_lines();
  line->set_sku("a");
  line->set_quantity(0);
  Result<ReservePlan> zero = ValidateReserveStock(request, kLimits);
  EXPECT_EQ(zero.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(zero.message(), "lines[0].quantity must be > 0, got 0");
  line->set_quantity(2);
  *request.add_lines() = *line;
  EXPECT_EQ(ValidateReserveStock(request, kLimits).message(),
            "lines[1].sku \"a\" appears more than once in lines");
  request.mutable_lines()->RemoveLast();
  request.mutable_ttl()->set_seconds(2 * 3600);
  EXPECT_EQ(ValidateReserveStock(request, kLimits).message(), "ttl must be > 0 and at most 3600 s");
  request.clear_ttl();
  Result<ReservePlan> plan = ValidateReserveStock(request, kLimits);
  ASSERT_TRUE(plan.ok()) << plan.message();
  EXPECT_EQ(plan->ttl, std::chrono::seconds(60));  // the default
  EXPECT_EQ(plan->lines, (std::vector<Line>{Line{"a", 2}}));
}

TEST(InventoryValidationTest, ReservationIdsAndPagesAreCheckedBeforeAnyHop) {
  EXPECT_EQ(ValidateReservationId("").message(), "reservation_id is required");
  Status bad = ValidateReservationId("rsv_xyz");
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Mentions(bad, "reservation_id \"rsv_xyz\" is not a reservation id")) << bad.message();
  EXPECT_TRUE(ValidateReservationId(kId).ok());

  v1::ListProductsRequest list;
  list.set_page_size(-1);
  EXPECT_EQ(ValidateListProducts(list, 100, 1000).message(),
            "page_size must not be negative, got -1");
  list.set_page_size(0);
  EXPECT_EQ(ValidateListProducts(list, 100, 1000)->size, 100u);
  list.set_page_size(5000);
  EXPECT_EQ(ValidateListProducts(list, 100, 1000)->size, 1000u);
  list.set_page_token("not-a-token");
  EXPECT_EQ(ValidateListProducts(list, 100, 1000).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateSku("a b", "lines[3].sku").message(),
            "lines[3].sku may only contain A-Z a-z 0-9 . _ -");
}

}  // namespace
}  // namespace percore::inventory
