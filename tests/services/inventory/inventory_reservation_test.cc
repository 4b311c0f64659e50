// inventory.v1 reservations: ReserveStock (all or nothing, idempotent by key, validation),
// CommitReservation, ReleaseReservation, ReturnReservation and expiry.

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/services/inventory/inventory_test_support.h"

namespace percore::inventory_test {
namespace {

using google::protobuf::util::TimeUtil;
using State = v1::Reservation;

class InventoryReservationTest : public InventoryServiceTest {
 protected:
  void SetUp() override {
    InventoryServiceTest::SetUp();
    a_ = SkuOnShard("A", 0);
    b_ = SkuOnShard("B", 1);
    MustCreate(a_, 10);
    MustCreate(b_, 5);
  }
  std::string a_, b_;  // one SKU on each shard
};

TEST_F(InventoryReservationTest, ReserveHoldsEveryLineAcrossShards) {
  v1::Reservation r = MustReserve(ReserveRequest("order-1", {{a_, 3}, {b_, 2}}));
  EXPECT_EQ(r.id().substr(0, 4), "rsv_");
  EXPECT_EQ(r.reservation_key(), "order-1");
  EXPECT_EQ(r.state(), State::RESERVATION_STATE_HELD);
  ASSERT_EQ(r.lines_size(), 2);
  EXPECT_EQ(r.lines(0).sku(), a_);
  EXPECT_EQ(r.lines(0).quantity(), 3);
  EXPECT_EQ(r.lines(0).unit_price().amount_minor(), 1299);
  EXPECT_EQ(r.lines(0).unit_price().currency(), "USD");
  EXPECT_EQ(r.lines(1).sku(), b_);
  // Default ttl: 60 s.
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(r.expires_at()) -
                TimeUtil::TimestampToMilliseconds(r.created_at()),
            60'000);
  // The id and the key live on the same shard.
  EXPECT_EQ(ShardOfKey(r.id()), ShardOfKey("order-1"));
  EXPECT_EQ(Levels(a_), (std::vector<int64_t>{10, 3, 7}));
  EXPECT_EQ(Levels(b_), (std::vector<int64_t>{5, 2, 3}));
}

TEST_F(InventoryReservationTest, OneLineShortHoldsNothingAnywhere) {
  // a_ (shard 0) is held first; b_ (shard 1) is short, so the hold on a_ is undone.
  Status status = ReserveStock(*stub_, ReserveRequest("short", {{b_, 6}, {a_, 4}}));
  EXPECT_TRUE(IsErrorNaming(status, StatusCode::FAILED_PRECONDITION, b_));
  EXPECT_TRUE(IsErrorNaming(status, StatusCode::FAILED_PRECONDITION, "available 5"));
  EXPECT_EQ(Levels(a_), (std::vector<int64_t>{10, 0, 10}));
  EXPECT_EQ(Levels(b_), (std::vector<int64_t>{5, 0, 5}));
  // The key is free again: the same key succeeds once stock allows it.
  v1::Reservation r = MustReserve(ReserveRequest("short", {{b_, 5}, {a_, 4}}));
  EXPECT_EQ(r.state(), State::RESERVATION_STATE_HELD);
}

TEST_F(InventoryReservationTest, UnknownSkuIsNotFoundAndHoldsNothing) {
  std::string missing = SkuOnShard("MISSING", 1);
  Status status = ReserveStock(*stub_, ReserveRequest("nf", {{a_, 1}, {missing, 1}}));
  EXPECT_TRUE(IsErrorNaming(status, StatusCode::NOT_FOUND, missing));
  EXPECT_EQ(Levels(a_), (std::vector<int64_t>{10, 0, 10}));
}

TEST_F(InventoryReservationTest, SameKeyReturnsTheFirstReservation) {
  v1::Reservation first = MustReserve(ReserveRequest("again", {{a_, 2}, {b_, 1}}));
  // Lines in another order are the same lines.
  v1::Reservation second = MustReserve(ReserveRequest("again", {{b_, 1}, {a_, 2}}));
  EXPECT_EQ(second.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(Levels(a_), (std::vector<int64_t>{10, 2, 8}));
}

TEST_F(InventoryReservationTest, SameKeyWithOtherLinesIsFailedPrecondition) {
  MustReserve(ReserveRequest("k1", {{a_, 2}}));
  EXPECT_TRUE(IsErrorNaming(ReserveStock(*stub_, ReserveRequest("k1", {{a_, 3}})),
                            StatusCode::FAILED_PRECONDITION, "reservation_key"));
  EXPECT_TRUE(IsErrorNaming(ReserveStock(*stub_, ReserveRequest("k1", {{a_, 2}, {b_, 1}})),
                            StatusCode::FAILED_PRECONDITION, "reservation_key"));
  EXPECT_EQ(Levels(a_), (std::vector<int64_t>{10, 2, 8}));
}

TEST_F(InventoryReservationTest, ReserveRejectsInvalidRequests) {
  EXPECT_TRUE(IsInvalidArgumentNaming(ReserveStock(*stub_, ReserveRequest("", {{a_, 1}})),
                                      "reservation_key"));
  EXPECT_TRUE(IsInvalidArgumentNaming(
      ReserveStock(*stub_, ReserveRequest(std::string(129, 'k'), {{a_, 1}})), "reservation_key"));
  EXPECT_TRUE(IsInvalidArgumentNaming(ReserveStock(*stub_, ReserveRequest("k", {})), "lines"));
  EXPECT_TRUE(IsInvalidArgumentNaming(ReserveStock(*stub_, ReserveRequest("k", {{a_, 0}})),
                                      "lines[0].quantity"));
  EXPECT_TRUE(IsInvalidArgumentNaming(
      ReserveStock(*stub_, ReserveRequest("k", {{a_, 1}, {b_, -2}})), "lines[1].quantity"));
  EXPECT_TRUE(IsInvalidArgumentNaming(
      ReserveStock(*stub_, ReserveRequest("k", {{a_, 1}, {"bad sku", 1}})), "lines[1].sku"));
  EXPECT_TRUE(IsInvalidArgumentNaming(
      ReserveStock(*stub_, ReserveRequest("k", {{a_, 1}, {b_, 1}, {a_, 2}})), "lines[2].sku"));
  v1::ReserveStockRequest zero_ttl = ReserveRequest("k", {{a_, 1}});
  zero_ttl.mutable_ttl()->set_seconds(0);
  EXPECT_TRUE(IsInvalidArgumentNaming(ReserveStock(*stub_, zero_ttl), "ttl"));
  v1::ReserveStockRequest negative_ttl = ReserveRequest("k", {{a_, 1}});
  negative_ttl.mutable_ttl()->set_seconds(-5);
  EXPECT_TRUE(IsInvalidArgumentNaming(ReserveStock(*stub_, negative_ttl), "ttl"));
  v1::ReserveStockRequest long_ttl = ReserveRequest("k", {{a_, 1}});
  long_ttl.mutable_ttl()->set_seconds(3600);
  long_ttl.mutable_ttl()->set_nanos(1);
  EXPECT_TRUE(IsInvalidArgumentNaming(ReserveStock(*stub_, long_ttl), "ttl"));
  // Nothing was held by any of them.
  EXPECT_EQ(Levels(a_), (std::vector<int64_t>{10, 0, 10}));
  // An hour exactly is allowed.
  v1::ReserveStockRequest hour = ReserveRequest("hour", {{a_, 1}});
  hour.mutable_ttl()->set_seconds(3600);
  EXPECT_TRUE(ReserveStock(*stub_, hour).ok());
}

TEST_F(InventoryReservationTest, CommitRemovesTheUnitsFromStockAndIsIdempotent) {
  v1::Reservation r = MustReserve(ReserveRequest("c", {{a_, 3}, {b_, 2}}));
  v1::Reservation committed;
  ASSERT_TRUE(CommitReservation(*stub_, r.id(), &committed).ok());
  EXPECT_EQ(committed.state(), State::RESERVATION_STATE_COMMITTED);
  EXPECT_EQ(committed.id(), r.id());
  EXPECT_EQ(Levels(a_), (std::vector<int64_t>{7, 0, 7}));
  EXPECT_EQ(Levels(b_), (std::vector<int64_t>{3, 0, 3}));
  v1::Reservation again;
  ASSERT_TRUE(CommitReservation(*stub_, r.id(), &again).ok());
  EXPECT_EQ(again.SerializeAsString(), committed.SerializeAsString());
  EXPECT_EQ(Levels(a_), (std::vector<int64_t>{7, 0, 7}));
  EXPECT_EQ(Levels(b_), (std::vector<int64_t>{3, 0, 3}));
}

TEST_F(InventoryReservationTest, ReleaseReturnsTheUnitsAndIsIdempotent) {
  v1::Reservation r = MustReserve(ReserveRequest("r", {{a_, 3}, {b_, 2}}));
  v1::Reservation released;
  ASSERT_TRUE(ReleaseReservation(*stub_, r.id(), &released).ok());
  EXPECT_EQ(released.state(), State::RESERVATION_STATE_RELEASED);
  EXPECT_EQ(Levels(a_), (std::vector<int64_t>{10, 0, 10}));
  EXPECT_EQ(Levels(b_), (std::vector<int64_t>{5, 0, 5}));
  ASSERT_TRUE(ReleaseReservation(*stub_, r.id(), &released).ok());
  EXPECT_EQ(released.state(), State::RESERVATION_STATE_RELEASED);
  EXPECT_EQ(Levels(a_), (std::vector<int64_t>{10, 0, 10}));
}

TEST_F(InventoryReservationTest, ReleaseAfterCommitIsFailedPrecondition) {
  v1::Reservation r = MustReserve(ReserveRequest("rc", {{a_, 1}}));
  ASSERT_TRUE(CommitReservation(*stub_, r.id()).ok());
  EXPECT_TRUE(
      IsErrorNaming(ReleaseReservation(*stub_, r.id()), StatusCode::FAILED_PRECONDITION, r.id()));
  EXPECT_EQ(Levels(a_), (std::vector<int64_t>{9, 0, 9}));
}

TEST_F(InventoryReservationTest, CommitAfterReleaseIsFailedPrecondition) {
  v1::Reservation r = MustReserve(ReserveRequest("cr", {{a_, 1}}));
  ASSERT_TRUE(ReleaseReservation(*stub_, r.id()).ok());
  EXPECT_TRUE(
      IsErrorNaming(CommitReservation(*stub_, r.id()), StatusCode::FAILED_PRECONDITION, r.id()));
  EXPECT_EQ(Levels(a_), (std::vector<int64_t>{10, 0, 10}));
}

TEST_F(InventoryReservationTest, ExpiryReleasesTheHold) {
  v1::Reservation r = MustReserve(ReserveRequest("exp", {{a_, 4}, {b_, 5}}, 1500ms));
  EXPECT_EQ(r.state(), State::RESERVATION_STATE_HELD);
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(r.expires_at()) -
                TimeUtil::TimestampToMilliseconds(r.created_at()),
            1500);
  EXPECT_TRUE(testing::WaitFor([&] { return Levels(a_)[2] == 10 && Levels(b_)[2] == 5; }, 10s))
      << "the expired reservation still holds stock";
  EXPECT_EQ(Levels(a_), (std::vector<int64_t>{10, 0, 10}));
  EXPECT_EQ(Levels(b_), (std::vector<int64_t>{5, 0, 5}));
  // The reservation itself says EXPIRED (asked for again by its key).
  v1::Reservation seen = MustReserve(ReserveRequest("exp", {{a_, 4}, {b_, 5}}));
  EXPECT_EQ(seen.id(), r.id());
  EXPECT_EQ(seen.state(), State::RESERVATION_STATE_EXPIRED);
}

TEST_F(InventoryReservationTest, CommitAfterExpiryIsFailedPrecondition) {
  v1::Reservation r = MustReserve(ReserveRequest("late", {{b_, 2}}, 100ms));
  ASSERT_TRUE(testing::WaitFor([&] { return Levels(b_)[1] == 0; }, 10s));
  EXPECT_TRUE(
      IsErrorNaming(CommitReservation(*stub_, r.id()), StatusCode::FAILED_PRECONDITION, "expired"));
  EXPECT_EQ(Levels(b_), (std::vector<int64_t>{5, 0, 5}));
  // Releasing an expired reservation is refused too (it was released already, by expiry).
  EXPECT_TRUE(IsErrorNaming(ReleaseReservation(*stub_, r.id()), StatusCode::FAILED_PRECONDITION,
                            "expired"));
}

TEST_F(InventoryReservationTest, CommittedReservationDoesNotExpire) {
  v1::Reservation r = MustReserve(ReserveRequest("keep", {{a_, 2}}, 100ms));
  ASSERT_TRUE(CommitReservation(*stub_, r.id()).ok());
  // Wait past the ttl, then look: still committed, the units still sold.
  int64_t deadline = TimeUtil::TimestampToMilliseconds(r.expires_at());
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return TimeUtil::TimestampToMilliseconds(TimeUtil::GetCurrentTime()) > deadline + 100;
      },
      10s));
  v1::Reservation seen = MustReserve(ReserveRequest("keep", {{a_, 2}}));
  EXPECT_EQ(seen.state(), State::RESERVATION_STATE_COMMITTED);
  EXPECT_EQ(Levels(a_), (std::vector<int64_t>{8, 0, 8}));
}

TEST_F(InventoryReservationTest, CommitAndReleaseValidateTheId) {
  EXPECT_TRUE(IsInvalidArgumentNaming(CommitReservation(*stub_, ""), "reservation_id"));
  EXPECT_TRUE(IsInvalidArgumentNaming(ReleaseReservation(*stub_, "xyz"), "reservation_id"));
  EXPECT_TRUE(IsErrorNaming(CommitReservation(*stub_, "rsv_0123456789abcdef"),
                            StatusCode::NOT_FOUND, "rsv_0123456789abcdef"));
  EXPECT_TRUE(IsErrorNaming(ReleaseReservation(*stub_, "rsv_0123456789abcdef"),
                            StatusCode::NOT_FOUND, "rsv_0123456789abcdef"));
}

TEST_F(InventoryReservationTest, ReturnPutsCommittedUnitsBackExactlyOnce) {
  v1::Reservation r = MustReserve(ReserveRequest("ret", {{a_, 3}, {b_, 2}}));
  EXPECT_TRUE(IsErrorNaming(ReturnReservation(*stub_, r.id()), StatusCode::FAILED_PRECONDITION,
                            "only a committed one can be returned"));
  ASSERT_TRUE(CommitReservation(*stub_, r.id()).ok());
  EXPECT_EQ(Levels(a_), (std::vector<int64_t>{7, 0, 7}));
  EXPECT_EQ(Levels(b_), (std::vector<int64_t>{3, 0, 3}));
  v1::Reservation returned;
  ASSERT_TRUE(ReturnReservation(*stub_, r.id(), &returned).ok());
  EXPECT_EQ(returned.state(), State::RESERVATION_STATE_RETURNED);
  EXPECT_EQ(Levels(a_), (std::vector<int64_t>{10, 0, 10}));
  EXPECT_EQ(Levels(b_), (std::vector<int64_t>{5, 0, 5}));
  // The same return again (a retry after a lost answer): the same answer, no more units.
  v1::Reservation again;
  ASSERT_TRUE(ReturnReservation(*stub_, r.id(), &again).ok());
  EXPECT_EQ(again.state(), State::RESERVATION_STATE_RETURNED);
  EXPECT_EQ(again.updated_at().seconds(), returned.updated_at().seconds());
  EXPECT_EQ(Levels(a_), (std::vector<int64_t>{10, 0, 10}));
  EXPECT_EQ(Levels(b_), (std::vector<int64_t>{5, 0, 5}));
  EXPECT_TRUE(IsErrorNaming(ReleaseReservation(*stub_, r.id()), StatusCode::FAILED_PRECONDITION,
                            "returned"));
  EXPECT_TRUE(IsErrorNaming(ReturnReservation(*stub_, "rsv_0123456789abcdef"),
                            StatusCode::NOT_FOUND, "rsv_0123456789abcdef"));
}

}  // namespace
}  // namespace percore::inventory_test
