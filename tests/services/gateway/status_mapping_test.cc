// services/gateway/status_mapping.h: grpc-gateway's HTTP status for a gRPC code, its error body
// (the message escaped by core/observe/json_text.h), the WebSocket close code.

#include "services/gateway/status_mapping.h"

#include <gtest/gtest.h>

namespace percore::gateway {
namespace {

TEST(StatusMappingTest, ErrorBodyEscapesTheMessage) {
  EXPECT_EQ(ErrorBody(StatusCode::kNotFound, "user \"u1\" not found"),
            R"({"code":5,"message":"user \"u1\" not found","details":[]})");
  EXPECT_EQ(ErrorBody(StatusCode::kInvalidArgument, "line\none\ttab\\ \x01"),
            R"({"code":3,"message":"line\none\ttab\\ \u0001","details":[]})");
  EXPECT_EQ(ErrorBody(StatusCode::kInternal, ""), R"({"code":13,"message":"","details":[]})");
}

TEST(StatusMappingTest, HttpStatusAndCloseCode) {
  EXPECT_EQ(HttpStatusOf(StatusCode::kOk), 200);
  EXPECT_EQ(HttpStatusOf(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusOf(StatusCode::kUnavailable), 503);
  EXPECT_EQ(CodeOfHttpStatus(404), StatusCode::kNotFound);
  EXPECT_EQ(CloseCodeOf(StatusCode::kOk), 1000);
  EXPECT_EQ(CloseCodeOf(StatusCode::kNotFound), 4005);
}

}  // namespace
}  // namespace percore::gateway
