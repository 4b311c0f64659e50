// grpc.testing.TestService served by percore, driven over loopback by the real gRPC C++ client:
// gRPC's interop test descriptions (doc/interop-test-descriptions.md in grpc/grpc) case by case,
// with their payload sizes, and half-duplex ordering. Cancellation and leaks are in
// interop_cancel_test.cc, malformed and oversized requests in interop_malformed_test.cc, drain
// and shutdown in interop_shutdown_test.cc.

#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/services/interop/interop_test_support.h"

namespace percore::interop {
namespace {

constexpr char kSpecialMessage[] =
    "\t\ntest with whitespace\r\nand Unicode BMP \u263A and non-BMP \U0001F608\t\n";

// ---- gRPC interop test cases ----

TEST_F(InteropTest, EmptyUnary) {
  ClientContext context;
  SetDeadline(context);
  Empty response;
  Status status = stub_->EmptyCall(&context, Empty(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.ByteSizeLong(), 0u);
}

TEST_F(InteropTest, LargeUnary) {
  ClientContext context;
  SetDeadline(context);
  SimpleRequest request;
  request.set_response_type(grpc::testing::COMPRESSABLE);
  request.set_response_size(kLargeResponse);
  request.mutable_payload()->set_body(Zeros(kLargeRequest));
  SimpleResponse response;
  Status status = stub_->UnaryCall(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.payload().type(), grpc::testing::COMPRESSABLE);
  ASSERT_EQ(response.payload().body().size(), static_cast<size_t>(kLargeResponse));
  EXPECT_TRUE(AllZeros(response.payload().body()));
}

TEST_F(InteropTest, ClientStreaming) {
  ClientContext context;
  SetDeadline(context);
  StreamingInputCallResponse response;
  auto stream = stub_->StreamingInputCall(&context, &response);
  for (int size : kRequestSizes) {
    StreamingInputCallRequest request;
    request.mutable_payload()->set_body(Zeros(size));
    ASSERT_TRUE(stream->Write(request));
  }
  ASSERT_TRUE(stream->WritesDone());
  Status status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.aggregated_payload_size(), 74922);
}

TEST_F(InteropTest, ServerStreaming) {
  testing::StreamPage<StreamingOutputCallResponse> stream = testing::ReadStream(
      *stub_, &TestService::Stub::StreamingOutputCall, ResponsesOf(kResponseSizes));
  std::vector<size_t> sizes;
  for (const StreamingOutputCallResponse& response : stream.items) {
    EXPECT_TRUE(AllZeros(response.payload().body()));
    sizes.push_back(response.payload().body().size());
  }
  ASSERT_TRUE(stream.status.ok()) << stream.status.error_message();
  EXPECT_EQ(sizes, std::vector<size_t>(kResponseSizes.begin(), kResponseSizes.end()));
}

TEST_F(InteropTest, PingPong) {
  ClientContext context;
  auto stream = FullDuplex(context);
  for (size_t i = 0; i < kResponseSizes.size(); ++i) {
    StreamingOutputCallResponse response;
    ASSERT_TRUE(PingPong(*stream, OutputRequest(kResponseSizes[i], kRequestSizes[i]), &response))
        << "request " << i;
    EXPECT_EQ(response.payload().body().size(), static_cast<size_t>(kResponseSizes[i]));
  }
  ASSERT_TRUE(stream->WritesDone());
  StreamingOutputCallResponse extra;
  EXPECT_FALSE(stream->Read(&extra));
  Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(InteropTest, EmptyStream) {
  ClientContext context;
  auto stream = FullDuplex(context);
  ASSERT_TRUE(stream->WritesDone());
  StreamingOutputCallResponse response;
  EXPECT_FALSE(stream->Read(&response));
  Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(InteropTest, CancelAfterBegin) {
  ClientContext context;
  SetDeadline(context);
  StreamingInputCallResponse response;
  Status status;
  ClientQueue queue;
  queue.CancelBeforeDrain(&context);
  auto stream = stub_->PrepareAsyncStreamingInputCall(&context, &response, queue.cq());
  stream->StartCall(Tag(1));
  ASSERT_TRUE(queue.Expect(Tag(1), true).Verify());
  context.TryCancel();
  stream->Finish(&status, Tag(2));
  ASSERT_TRUE(queue.Expect(Tag(2), true).Verify());
  EXPECT_EQ(status.error_code(), StatusCode::CANCELLED) << status.error_message();
}

TEST_F(InteropTest, CancelAfterFirstResponse) {
  ClientContext context;
  auto stream = FullDuplex(context);
  StreamingOutputCallResponse response;
  ASSERT_TRUE(PingPong(*stream, OutputRequest(31415, 27182), &response));
  EXPECT_EQ(response.payload().body().size(), 31415u);
  context.TryCancel();
  Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), StatusCode::CANCELLED) << status.error_message();
}

TEST_F(InteropTest, TimeoutOnSleepingServer) {
  ClientContext context;
  SetDeadline(context, 1ms);
  auto stream = stub_->FullDuplexCall(&context);
  // As the interop description has it: a payload and no response parameters, so the server
  // owes nothing and "sleeps" until the deadline. The write may already fail: the deadline can
  // pass before it is sent.
  StreamingOutputCallRequest request;
  request.mutable_payload()->set_body(Zeros(27182));
  stream->Write(request);
  StreamingOutputCallResponse response;
  EXPECT_FALSE(stream->Read(&response));
  Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), StatusCode::DEADLINE_EXCEEDED) << status.error_message();
}

void ExpectEchoedMetadata(const ClientContext& context) {
  auto initial = context.GetServerInitialMetadata();
  auto it = initial.find(kEchoInitialKey);
  ASSERT_NE(it, initial.end()) << "initial metadata not echoed";
  EXPECT_EQ(std::string(it->second.data(), it->second.size()), kEchoInitialValue);
  auto trailing = context.GetServerTrailingMetadata();
  auto jt = trailing.find(kEchoTrailingKey);
  ASSERT_NE(jt, trailing.end()) << "trailing metadata not echoed";
  EXPECT_EQ(std::string(jt->second.data(), jt->second.size()), kEchoTrailingValue);
}

TEST_F(InteropTest, CustomMetadataUnary) {
  ClientContext context;
  SetDeadline(context);
  context.AddMetadata(kEchoInitialKey, kEchoInitialValue);
  context.AddMetadata(kEchoTrailingKey, kEchoTrailingValue);
  SimpleRequest request;
  request.set_response_size(kLargeResponse);
  request.mutable_payload()->set_body(Zeros(kLargeRequest));
  SimpleResponse response;
  Status status = stub_->UnaryCall(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.payload().body().size(), static_cast<size_t>(kLargeResponse));
  ExpectEchoedMetadata(context);
}

TEST_F(InteropTest, CustomMetadataFullDuplex) {
  ClientContext context;
  SetDeadline(context);
  context.AddMetadata(kEchoInitialKey, kEchoInitialValue);
  context.AddMetadata(kEchoTrailingKey, kEchoTrailingValue);
  auto stream = stub_->FullDuplexCall(&context);
  StreamingOutputCallResponse response;
  ASSERT_TRUE(PingPong(*stream, OutputRequest(kLargeResponse, kLargeRequest), &response));
  EXPECT_EQ(response.payload().body().size(), static_cast<size_t>(kLargeResponse));
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_FALSE(stream->Read(&response));
  Status status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  ExpectEchoedMetadata(context);
}

TEST_F(InteropTest, StatusCodeAndMessageUnary) {
  ClientContext context;
  SetDeadline(context);
  SimpleRequest request;
  request.mutable_response_status()->set_code(2);
  request.mutable_response_status()->set_message("test status message");
  SimpleResponse response;
  Status status = stub_->UnaryCall(&context, request, &response);
  EXPECT_EQ(status.error_code(), StatusCode::UNKNOWN);
  EXPECT_EQ(status.error_message(), "test status message");
}

TEST_F(InteropTest, StatusCodeAndMessageFullDuplex) {
  ClientContext context;
  auto stream = FullDuplex(context);
  StreamingOutputCallRequest request;
  request.mutable_response_status()->set_code(2);
  request.mutable_response_status()->set_message("test status message");
  ASSERT_TRUE(stream->Write(request));
  stream->WritesDone();
  StreamingOutputCallResponse response;
  EXPECT_FALSE(stream->Read(&response));
  Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), StatusCode::UNKNOWN);
  EXPECT_EQ(status.error_message(), "test status message");
}

TEST_F(InteropTest, SpecialStatusMessage) {
  ClientContext context;
  SetDeadline(context);
  SimpleRequest request;
  request.mutable_response_status()->set_code(2);
  request.mutable_response_status()->set_message(kSpecialMessage);
  SimpleResponse response;
  Status status = stub_->UnaryCall(&context, request, &response);
  EXPECT_EQ(status.error_code(), StatusCode::UNKNOWN);
  EXPECT_EQ(status.error_message(), kSpecialMessage);
}

TEST_F(InteropTest, UnimplementedMethod) {
  ClientContext context;
  SetDeadline(context);
  Empty response;
  Status status = stub_->UnimplementedCall(&context, Empty(), &response);
  EXPECT_EQ(status.error_code(), StatusCode::UNIMPLEMENTED) << status.error_message();
}

TEST_F(InteropTest, UnimplementedService) {
  auto stub = server_->MakeStub<UnimplementedService>();
  ClientContext context;
  SetDeadline(context);
  Empty response;
  Status status = stub->UnimplementedCall(&context, Empty(), &response);
  EXPECT_EQ(status.error_code(), StatusCode::UNIMPLEMENTED) << status.error_message();
}

// ---- Beyond the interop cases ----

TEST_F(InteropTest, HalfDuplexAnswersOnlyAfterHalfClose) {
  ClientContext context;
  SetDeadline(context);
  StreamingOutputCallResponse response;
  Status status;
  ClientQueue queue;  // after the buffers its completions write into
  queue.CancelBeforeDrain(&context);
  auto stream = stub_->PrepareAsyncHalfDuplexCall(&context, queue.cq());
  stream->StartCall(Tag(1));
  ASSERT_TRUE(queue.Expect(Tag(1), true).Verify());
  for (int size : kResponseSizes) {
    stream->Write(OutputRequest(size, 0), Tag(2));
    ASSERT_TRUE(queue.Expect(Tag(2), true).Verify());
  }
  stream->Read(&response, Tag(3));
  // Every request has reached the server (and an immediate answer would have come back) long
  // before this: nothing may arrive until the client half-closes.
  EXPECT_TRUE(queue.VerifyNothingFor(300ms));
  stream->WritesDone(Tag(4));
  ASSERT_TRUE(queue.Expect(Tag(3), true).Expect(Tag(4), true).Verify());
  std::vector<size_t> sizes = {response.payload().body().size()};
  for (;;) {
    stream->Read(&response, Tag(5));
    auto event = queue.Next(kCallTimeout);
    ASSERT_TRUE(event.has_value());
    ASSERT_EQ(event->tag, Tag(5));
    if (!event->ok) break;
    sizes.push_back(response.payload().body().size());
  }
  stream->Finish(&status, Tag(6));
  ASSERT_TRUE(queue.Expect(Tag(6), true).Verify());
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(sizes, std::vector<size_t>(kResponseSizes.begin(), kResponseSizes.end()));
}

}  // namespace
}  // namespace percore::interop
