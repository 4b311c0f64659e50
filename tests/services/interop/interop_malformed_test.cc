// grpc.testing.TestService: requests the server cannot take (unparsable bodies, messages over
// the size limit, with gRPC's full stack and its minimal one) are refused with the right status,
// and the server keeps serving.

#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/services/interop/interop_test_support.h"

namespace percore::interop {
namespace {

TEST_F(InteropTest, UnparsableRequestIsInvalidArgument) {
  const std::string garbage("\xff\xff\xff\xff\xff\xff", 6);  // wire type 7 does not exist
  Status status =
      testing::CallGenericUnary(server_->channel(), "/grpc.testing.TestService/UnaryCall", garbage);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_TRUE(UnaryWorks());
}

TEST_F(InteropTest, UnparsableStreamMessageIsInvalidArgument) {
  grpc::GenericStub generic(server_->channel());
  const std::string garbage("\xff\xff\xff\xff\xff\xff", 6);
  grpc::Slice slice(garbage);
  grpc::ByteBuffer message(&slice, 1);
  grpc::ByteBuffer response;
  Status status;
  ClientContext context;
  SetDeadline(context);
  ClientQueue queue;
  queue.CancelBeforeDrain(&context);
  auto call = generic.PrepareCall(&context, "/grpc.testing.TestService/FullDuplexCall", queue.cq());
  call->StartCall(Tag(1));
  ASSERT_TRUE(queue.Expect(Tag(1), true).Verify());
  call->Write(message, Tag(2));
  // The write may or may not complete before the server ends the call.
  auto event = queue.Next(kCallTimeout);
  ASSERT_TRUE(event.has_value());
  ASSERT_EQ(event->tag, Tag(2));
  call->Read(&response, Tag(3));
  ASSERT_TRUE(queue.Expect(Tag(3), false).Verify());
  call->Finish(&status, Tag(4));
  ASSERT_TRUE(queue.Expect(Tag(4), true).Verify());
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_TRUE(UnaryWorks());
}

class SmallMessageLimitTest : public InteropTest {
 protected:
  static constexpr int kLimit = 64 * 1024;
  ServerFixtureOptions FixtureOptions() override {
    ServerFixtureOptions options;
    options.server.max_message_bytes = kLimit;
    return options;
  }
  void ExpectOversizedRejected();
};

// With gRPC's minimal stack its message-size filter is gone: percore's own check answers.
class SmallMessageLimitMinimalStackTest : public SmallMessageLimitTest {
 protected:
  ServerFixtureOptions FixtureOptions() override {
    ServerFixtureOptions options = SmallMessageLimitTest::FixtureOptions();
    options.server.minimal_stack = true;
    return options;
  }
};

TEST_F(SmallMessageLimitTest, OversizedRequestIsResourceExhausted) { ExpectOversizedRejected(); }

TEST_F(SmallMessageLimitMinimalStackTest, OversizedRequestIsResourceExhausted) {
  ExpectOversizedRejected();
}

void SmallMessageLimitTest::ExpectOversizedRejected() {
  {
    ClientContext context;
    SetDeadline(context);
    SimpleRequest request;
    request.set_response_size(10);
    request.mutable_payload()->set_body(Zeros(2 * kLimit));
    SimpleResponse response;
    Status status = stub_->UnaryCall(&context, request, &response);
    EXPECT_EQ(status.error_code(), StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  }
  {
    // Also on a stream, whose messages pass the same limit.
    ClientContext context;
    SetDeadline(context);
    StreamingInputCallResponse response;
    auto stream = stub_->StreamingInputCall(&context, &response);
    StreamingInputCallRequest request;
    request.mutable_payload()->set_body(Zeros(2 * kLimit));
    stream->Write(request);  // may fail once the server has ended the call
    stream->WritesDone();
    Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  }
  EXPECT_TRUE(UnaryWorks());
}

}  // namespace
}  // namespace percore::interop
