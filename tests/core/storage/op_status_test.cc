#include "core/storage/op_status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

namespace percore::storage {
namespace {

OpResult<int> Half(int n) {
  if (n % 2 != 0) return {OpStatus::kInvalidArgument, "odd"};
  return n / 2;
}

OpResult<std::string> Lookup(bool found) {
  if (!found) return OpStatus::kNotFound;
  return "value";  // converts through std::string
}

TEST(OpResultTest, ValueIsOkWithEmptyMessage) {
  OpResult<int> r = Half(8);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.status(), OpStatus::kOk);
  EXPECT_EQ(r.message(), "");
  EXPECT_EQ(r.value(), 4);
  EXPECT_EQ(*r, 4);
}

TEST(OpResultTest, StatusWithMessageIsNotOk) {
  OpResult<int> r = Half(3);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status(), OpStatus::kInvalidArgument);
  EXPECT_EQ(r.message(), "odd");
}

TEST(OpResultTest, BareStatusConvertsWithEmptyMessage) {
  OpResult<std::string> r = Lookup(false);
  EXPECT_EQ(r.status(), OpStatus::kNotFound);
  EXPECT_EQ(r.message(), "");
}

TEST(OpResultTest, ConvertibleValueConverts) {
  OpResult<std::string> r = Lookup(true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 5u);
  EXPECT_EQ(*r, "value");
}

TEST(OpResultTest, HoldsMoveOnlyValuesAndMovesThemOut) {
  OpResult<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(**r, 7);
  std::unique_ptr<int> taken = std::move(r).value();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 7);
}

TEST(OpResultTest, ArrowReachesMembersOfTheValue) {
  struct Row {
    int id;
  };
  OpResult<Row> r = Row{42};
  EXPECT_EQ(r->id, 42);
  r->id = 43;
  EXPECT_EQ(r.value().id, 43);
}

TEST(OpResultTest, VoidResultDefaultsToOk) {
  OpResult<void> r;
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.status(), OpStatus::kOk);
  EXPECT_EQ(r.message(), "");
}

TEST(OpResultTest, VoidResultCarriesFailure) {
  OpResult<void> r = {OpStatus::kAborted, "retry"};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status(), OpStatus::kAborted);
  EXPECT_EQ(r.message(), "retry");
}

TEST(OpResultTest, ResultCanBeCopiedAndMoved) {
  OpResult<std::string> a = std::string("x");
  OpResult<std::string> b = a;
  OpResult<std::string> c = std::move(a);
  EXPECT_EQ(*b, "x");
  EXPECT_EQ(*c, "x");
  OpResult<std::string> failed = {OpStatus::kResourceExhausted, "full"};
  b = failed;
  EXPECT_EQ(b.status(), OpStatus::kResourceExhausted);
  EXPECT_EQ(b.message(), "full");
}

TEST(OpStatusTest, NamesMatchGrpcCodeNames) {
  EXPECT_EQ(OpStatusName(OpStatus::kOk), "OK");
  EXPECT_EQ(OpStatusName(OpStatus::kNotFound), "NOT_FOUND");
  EXPECT_EQ(OpStatusName(OpStatus::kAlreadyExists), "ALREADY_EXISTS");
  EXPECT_EQ(OpStatusName(OpStatus::kInvalidArgument), "INVALID_ARGUMENT");
  EXPECT_EQ(OpStatusName(OpStatus::kResourceExhausted), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(OpStatusName(OpStatus::kFailedPrecondition), "FAILED_PRECONDITION");
  EXPECT_EQ(OpStatusName(OpStatus::kAborted), "ABORTED");
}

#ifdef NDEBUG
TEST(OpResultTest, FailureBuiltFromOkBecomesFailedPreconditionInRelease) {
  OpResult<int> r = OpStatus::kOk;
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status(), OpStatus::kFailedPrecondition);
  OpResult<void> v = OpStatus::kOk;
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.status(), OpStatus::kFailedPrecondition);
}
#else
TEST(OpResultDeathTest, FailureBuiltFromOkAsserts) {
  EXPECT_DEATH({ OpResult<int> r = OpStatus::kOk; }, "non-OK status");
}
#endif

}  // namespace
}  // namespace percore::storage
