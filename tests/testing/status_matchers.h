#pragma once
// Threading contract: pure functions of their arguments; any thread may call them.
//
// The status matchers every end-to-end suite uses, as gtest AssertionResults so a failure names
// the code and the message it got:
//
//   EXPECT_TRUE(HasCode(status, grpc::StatusCode::NOT_FOUND));
//   EXPECT_TRUE(IsInvalidArgumentNaming(status, "email"));

#include <grpcpp/support/status.h>
#include <gtest/gtest.h>

#include <string>

namespace percore::testing {

// `<code> "<message>"`, for failure messages.
inline std::string Describe(const grpc::Status& status) {
  return std::to_string(static_cast<int>(status.error_code())) + " \"" + status.error_message() +
         "\"";
}

inline ::testing::AssertionResult HasCode(const grpc::Status& status, grpc::StatusCode code) {
  if (status.error_code() == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected code " << static_cast<int>(code) << ", got " << Describe(status);
}

// `code` with a message that contains `text` (a field name, an id, a SKU, a count).
inline ::testing::AssertionResult IsErrorNaming(const grpc::Status& status, grpc::StatusCode code,
                                                const std::string& text) {
  if (status.error_code() != code) {
    return ::testing::AssertionFailure() << "expected code " << static_cast<int>(code) << " naming "
                                         << text << ", got " << Describe(status);
  }
  if (status.error_message().find(text) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "message does not name " << text << ": " << Describe(status);
  }
  return ::testing::AssertionSuccess();
}

// INVALID_ARGUMENT with a message that names `field`: how every service reports a bad request.
inline ::testing::AssertionResult IsInvalidArgumentNaming(const grpc::Status& status,
                                                          const std::string& field) {
  return IsErrorNaming(status, grpc::StatusCode::INVALID_ARGUMENT, field);
}

}  // namespace percore::testing
