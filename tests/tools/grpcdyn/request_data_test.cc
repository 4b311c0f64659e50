#include "tools/grpcdyn/request_data.h"

#include <gtest/gtest.h>

#include "tools/grpcdyn/metadata.h"

namespace percore::grpcdyn {
namespace {

TEST(RequestDataTest, ObjectArrayAndEmpty) {
  auto one = SplitRequestData(R"({"id": "a"})");
  ASSERT_TRUE(one.ok());
  EXPECT_FALSE(one->was_array);
  EXPECT_EQ(one->messages, std::vector<std::string>{R"({"id":"a"})"});
  auto many = SplitRequestData(R"([{"id": "a"}, {"id": 9007199254740993}])");
  ASSERT_TRUE(many.ok());
  EXPECT_TRUE(many->was_array);
  EXPECT_EQ(many->messages[1], R"({"id":9007199254740993})");  // integers stay exact
  EXPECT_EQ(SplitRequestData("  ")->messages, std::vector<std::string>{"{}"});
}

TEST(RequestDataTest, ErrorsSayWhere) {
  EXPECT_NE(SplitRequestData("{\"id\": ").error().find("line 1, column"), std::string::npos);
  EXPECT_NE(SplitRequestData("[]").error().find("empty"), std::string::npos);
  EXPECT_NE(SplitRequestData("[1]").error().find("object"), std::string::npos);
  EXPECT_NE(SplitRequestData("\"x\"").error().find("object"), std::string::npos);
}

TEST(RequestDataTest, ReadsFiles) {
  EXPECT_EQ(*ReadDataArgument("{}"), "{}");
  EXPECT_FALSE(ReadDataArgument("@/no/such/file").ok());
}

TEST(MetadataTest, ObjectOfStrings) {
  auto md = ParseMetadata(R"({"x-a": "1", "x-b": ["2", "3"], "x-n": 4})");
  ASSERT_TRUE(md.ok()) << md.error();
  Metadata expected = {{"x-a", "1"}, {"x-b", "2"}, {"x-b", "3"}, {"x-n", "4"}};
  EXPECT_EQ(*md, expected);
  EXPECT_TRUE(ParseMetadata("")->empty());
}

TEST(MetadataTest, RejectsWhatGrpcWouldRejectPerCall) {
  EXPECT_NE(ParseMetadata(R"({"X-Upper": "1"})").error().find("X-Upper"), std::string::npos);
  EXPECT_NE(ParseMetadata(R"({"grpc-timeout": "1"})").error().find("reserved"), std::string::npos);
  EXPECT_FALSE(ParseMetadata(R"(["a"])").ok());
  EXPECT_FALSE(ParseMetadata(R"({"a": {"b": 1}})").ok());
}

}  // namespace
}  // namespace percore::grpcdyn
