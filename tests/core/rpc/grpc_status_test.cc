#include "core/rpc/grpc_status.h"

#include <gtest/gtest.h>

namespace percore::rpc {
namespace {

TEST(GrpcStatusTest, EveryCodeMapsToTheGrpcCodeOfTheSameName) {
  for (int code = 0; code <= 16; ++code) {
    Status status(static_cast<StatusCode>(code), code == 0 ? "" : "why");
    grpc::Status mapped = ToGrpcStatus(status);
    EXPECT_EQ(static_cast<int>(mapped.error_code()), code);
    EXPECT_EQ(mapped.error_message(), status.message());
    EXPECT_EQ(FromGrpcStatus(mapped), status) << StatusCodeName(status.code());
  }
  EXPECT_EQ(ToGrpcStatus(Status(StatusCode::kNotFound, "user 1 not found")).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ToGrpcStatus(Status(StatusCode::kUnauthenticated, "")).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST(GrpcStatusTest, AnUnknownGrpcCodeBecomesUnknown) {
  // 20: no code today, yet inside the range grpc::StatusCode can hold (UBSan checks loads).
  grpc::Status odd(static_cast<grpc::StatusCode>(20), "from the future");
  EXPECT_EQ(FromGrpcStatus(odd), Status(StatusCode::kUnknown, "from the future"));
}

}  // namespace
}  // namespace percore::rpc
