// The .proto path end to end without a server: parse the repo's user.v1 contract, find its
// methods under both spellings, and turn JSON into wire bytes and back.

#include "tools/grpcdyn/proto_file_schema.h"

#include <gtest/gtest.h>

#include "tools/grpcdyn/message_codec.h"
#include "tools/grpcdyn/method_lookup.h"

namespace percore::grpcdyn {
namespace {

const std::string kProtoDir = PERCORE_PROTO_DIR;

TEST(MethodNameTest, BothSpellings) {
  auto dotted = ParseMethodName("user.v1.UserService.GetUser");
  auto slashed = ParseMethodName("/user.v1.UserService/GetUser");
  ASSERT_TRUE(dotted.ok() && slashed.ok());
  EXPECT_EQ(dotted->service, "user.v1.UserService");
  EXPECT_EQ(dotted->method, "GetUser");
  EXPECT_EQ(slashed->service, dotted->service);
  EXPECT_EQ(slashed->method, dotted->method);
  for (const char* bad : {"GetUser", "a.", ".a", "a/b/c", ""}) {
    EXPECT_FALSE(ParseMethodName(bad).ok()) << bad;
  }
}

TEST(ProtoFileSchemaTest, FindsMethodsAndShapes) {
  auto schema = LoadProtoFiles({kProtoDir + "/user/v1/user.proto"}, {kProtoDir});
  ASSERT_TRUE(schema.ok()) << schema.error();
  EXPECT_EQ(*(*schema)->ListServices(), std::vector<std::string>{"user.v1.UserService"});
  auto get = FindMethod(**schema, *ParseMethodName("user.v1.UserService/GetUser"));
  ASSERT_TRUE(get.ok()) << get.error();
  EXPECT_EQ(get->path, "/user.v1.UserService/GetUser");
  EXPECT_EQ(get->shape, CallShape::kUnary);
  auto list = FindMethod(**schema, *ParseMethodName("user.v1.UserService.ListUsers"));
  EXPECT_EQ(list->shape, CallShape::kServerStreaming);
  auto missing = FindMethod(**schema, *ParseMethodName("user.v1.UserService.Nope"));
  EXPECT_NE(missing.error().find("GetUser"), std::string::npos);
  auto no_service = FindMethod(**schema, *ParseMethodName("user.v2.UserService.GetUser"));
  EXPECT_NE(no_service.error().find("user.v1.UserService"), std::string::npos);
}

TEST(ProtoFileSchemaTest, JsonRoundTripThroughWireBytes) {
  auto schema = LoadProtoFiles({kProtoDir + "/user/v1/user.proto"}, {});
  ASSERT_TRUE(schema.ok()) << schema.error();
  MessageCodec codec((*schema)->pool().FindMessageTypeByName("user.v1.User"));
  auto wire =
      codec.JsonToWire(R"({"id":"x","roles":["a","b"],"createdAt":"2024-01-02T03:04:05Z"})");
  ASSERT_TRUE(wire.ok()) << wire.error();
  EXPECT_EQ(*codec.WireToJson(*wire, {}),
            R"({"id":"x","roles":["a","b"],"createdAt":"2024-01-02T03:04:05Z"})");
  EXPECT_NE(codec.JsonToWire(R"({"nope":1})").error().find("nope"), std::string::npos);
  EXPECT_NE(codec.WireToJson(*wire, {.pretty = true}).value().find("\n  \"roles\""),
            std::string::npos);
}

TEST(ProtoFileSchemaTest, ErrorsQuoteTheParser) {
  EXPECT_NE(LoadProtoFiles({"/no/such.proto"}, {}).error().find("/no/such.proto"),
            std::string::npos);
}

}  // namespace
}  // namespace percore::grpcdyn
