#include "core/base/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

namespace percore {
namespace {

Result<int> Half(int n) {
  if (n % 2 != 0) return {StatusCode::kInvalidArgument, "odd"};
  return n / 2;
}

Result<std::string> Lookup(bool found) {
  if (!found) return StatusCode::kNotFound;
  return "value";  // converts through std::string
}

TEST(ResultTest, ValueIsOkWithEmptyMessage) {
  Result<int> r = Half(8);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.code(), StatusCode::kOk);
  EXPECT_EQ(r.message(), "");
  EXPECT_EQ(r.value(), 4);
  EXPECT_EQ(*r, 4);
}

TEST(ResultTest, StatusWithMessageIsNotOk) {
  Result<int> r = Half(3);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.message(), "odd");
}

TEST(ResultTest, BareStatusConvertsWithEmptyMessage) {
  Result<std::string> r = Lookup(false);
  EXPECT_EQ(r.code(), StatusCode::kNotFound);
  EXPECT_EQ(r.message(), "");
}

TEST(ResultTest, ConvertibleValueConverts) {
  Result<std::string> r = Lookup(true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 5u);
  EXPECT_EQ(*r, "value");
}

TEST(ResultTest, HoldsMoveOnlyValuesAndMovesThemOut) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(**r, 7);
  std::unique_ptr<int> taken = std::move(r).value();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 7);
}

TEST(ResultTest, ArrowReachesMembersOfTheValue) {
  struct Row {
    int id;
  };
  Result<Row> r = Row{42};
  EXPECT_EQ(r->id, 42);
  r->id = 43;
  EXPECT_EQ(r.value().id, 43);
}

TEST(ResultTest, VoidResultDefaultsToOk) {
  Result<void> r;
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.code(), StatusCode::kOk);
  EXPECT_EQ(r.message(), "");
}

TEST(ResultTest, VoidResultCarriesFailure) {
  Result<void> r = {StatusCode::kAborted, "retry"};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.code(), StatusCode::kAborted);
  EXPECT_EQ(r.message(), "retry");
}

TEST(ResultTest, ResultCanBeCopiedAndMoved) {
  Result<std::string> a = std::string("x");
  Result<std::string> b = a;
  Result<std::string> c = std::move(a);
  EXPECT_EQ(*b, "x");
  EXPECT_EQ(*c, "x");
  Result<std::string> failed = {StatusCode::kResourceExhausted, "full"};
  b = failed;
  EXPECT_EQ(b.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(b.message(), "full");
}

TEST(StatusCodeTest, NamesMatchGrpcCodeNames) {
  EXPECT_EQ(StatusCodeName(StatusCode::kOk), "OK");
  EXPECT_EQ(StatusCodeName(StatusCode::kNotFound), "NOT_FOUND");
  EXPECT_EQ(StatusCodeName(StatusCode::kAlreadyExists), "ALREADY_EXISTS");
  EXPECT_EQ(StatusCodeName(StatusCode::kInvalidArgument), "INVALID_ARGUMENT");
  EXPECT_EQ(StatusCodeName(StatusCode::kResourceExhausted), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(StatusCodeName(StatusCode::kFailedPrecondition), "FAILED_PRECONDITION");
  EXPECT_EQ(StatusCodeName(StatusCode::kAborted), "ABORTED");
  EXPECT_EQ(StatusCodeName(StatusCode::kDeadlineExceeded), "DEADLINE_EXCEEDED");
  EXPECT_EQ(StatusCodeName(StatusCode::kUnauthenticated), "UNAUTHENTICATED");
}

TEST(ResultTest, CarriesAWholeStatusBothWays) {
  Status unavailable(StatusCode::kUnavailable, "peer down");
  Result<int> r = unavailable;  // a client passing on a callee's status
  EXPECT_EQ(r.status(), unavailable);
  EXPECT_EQ(r.status().ToString(), "UNAVAILABLE: peer down");
  Result<int> ok = 1;
  EXPECT_TRUE(ok.status().ok());
  EXPECT_EQ(ok.status().ToString(), "OK");
  Result<void> v = r.status();
  EXPECT_EQ(v.code(), StatusCode::kUnavailable);
  EXPECT_EQ(v.message(), "peer down");
}

#ifdef NDEBUG
TEST(ResultTest, FailureBuiltFromOkBecomesInternalInRelease) {
  Result<int> r = StatusCode::kOk;
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.code(), StatusCode::kInternal);
  Result<void> v = StatusCode::kOk;
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.code(), StatusCode::kInternal);
}
#else
TEST(ResultDeathTest, FailureBuiltFromOkAsserts) {
  EXPECT_DEATH({ Result<int> r = StatusCode::kOk; }, "non-OK status");
}
#endif

}  // namespace
}  // namespace percore
