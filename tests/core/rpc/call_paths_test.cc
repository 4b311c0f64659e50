// core/rpc's call objects at the completion-queue level, on every `ok == false` path: a real
// percore server on a loopback port (ServerHost, one completion queue per shard) and the real
// gRPC client; nothing of libgrpc is mocked. Each test ends by proving the call objects were
// all freed (the per-server count returns to the posted requests, then to zero at shutdown).
//
// Paths: request tag !ok (shutdown frees the posted requests), read !ok (half-close, and a
// client cancel while a read is in flight), write !ok (the client cancels a stream whose writes
// are queued), finish after the done tag (gRPC issue 36065: done may come first), and the last
// handle dropped without an answer (the call answers INTERNAL itself), and a stream message that
// does not parse (the call ends INVALID_ARGUMENT and the handler hears OnCancel: it was waiting
// for messages or a half-close that will not come). Also the transport-neutral
// accessors of the handle (metadata, deadline, peer, initial and trailing metadata) and
// FinishRaw/WriteRaw with a SerializedMessage.

#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "core/rpc/serialized_message.h"
#include "core/rpc/service_def.h"
#include "grpc/testing/test.grpc.pb.h"
#include "tests/testing/client_queue.h"
#include "tests/testing/server_fixture.h"

namespace percore {
namespace {

namespace pb = ::grpc::testing;
using namespace std::chrono_literals;

// What the handlers saw; written on the shards, read by the test thread.
struct Seen {
  std::atomic<int> cancels{0};
  std::atomic<int> reads{0};
  std::atomic<int> reads_done{0};
  std::atomic<int> finish_after_done{-1};  // -1: not tried; else Finish()'s answer
  std::atomic<bool> handler_started{false};
};
Seen* seen = nullptr;

// grpc.testing.TestService with handlers that take the paths under test.
class ProbeHandler {
 public:
  explicit ProbeHandler(runtime::Shard&) {}

  // response_size 0: drop the handle without answering. 1: keep it until the call is
  // cancelled, then finish it from a later task (after the done tag). 2: answer the
  // pre-serialized reply with the accessors' findings.
  void UnaryCall(rpc::UnaryCall<pb::SimpleRequest, pb::SimpleResponse> call) {
    seen->handler_started = true;
    switch (call.request().response_size()) {
      case 0:
        return;  // the last handle goes: the call answers INTERNAL
      case 1:
        call.OnCancel([call] {
          ++seen->cancels;
          call.shard().Submit(
              [call] { seen->finish_after_done = call.Finish(pb::SimpleResponse()); });
        });
        return;
      default: {
        pb::SimpleResponse response;
        std::optional<std::string_view> echo = call.metadata("x-probe");
        response.set_username(echo ? std::string(*echo) : "none");
        response.set_hostname(call.peer());
        bool deadline_seen = call.deadline() < std::chrono::system_clock::now() + 1h;
        response.set_oauth_scope(deadline_seen ? "deadline" : "no deadline");
        call.AddInitialMetadata("x-initial", "i");
        call.AddTrailingMetadata("x-trailing", "t");
        call.FinishRaw(rpc::SerializedMessage::Copy(response.SerializeAsString()));
      }
    }
  }

  // Writes as long as the stream takes messages, and again whenever it has room: the client
  // cancels, the write in flight fails (write !ok) and the queue is dropped.
  void StreamingOutputCall(
      rpc::ServerStream<pb::StreamingOutputCallRequest, pb::StreamingOutputCallResponse> call) {
    call.OnCancel([] { ++seen->cancels; });
    auto fill = [call] {
      pb::StreamingOutputCallResponse message;
      message.mutable_payload()->set_body(std::string(16 * 1024, 'x'));
      auto bytes = rpc::SerializedMessage::Copy(message.SerializeAsString());
      while (call.WriteRaw(bytes)) {
      }
    };
    call.OnWritable(fill);
    fill();
    seen->handler_started = true;
  }

  // Counts messages; answers at the half-close (read !ok). A cancel while a read is in flight
  // also fails that read: OnReadsDone runs, and OnCancel.
  void StreamingInputCall(
      rpc::ClientStream<pb::StreamingInputCallRequest, pb::StreamingInputCallResponse> call) {
    call.OnRead([](pb::StreamingInputCallRequest&&) { ++seen->reads; });
    call.OnReadsDone([call] {
      ++seen->reads_done;
      pb::StreamingInputCallResponse response;
      response.set_aggregated_payload_size(seen->reads.load());
      call.Finish(response);
    });
    call.OnCancel([] { ++seen->cancels; });
    seen->handler_started = true;
  }
};

std::shared_ptr<rpc::ServiceRegistration> ProbeService() {
  auto def = std::make_shared<rpc::ServiceDef<ProbeHandler>>(
      rpc::FindServiceDescriptor("grpc.testing.TestService"),
      [](runtime::Shard& shard) { return std::make_unique<ProbeHandler>(shard); });
  def->Unary("UnaryCall", &ProbeHandler::UnaryCall);
  def->ServerStream("StreamingOutputCall", &ProbeHandler::StreamingOutputCall);
  def->ClientStream("StreamingInputCall", &ProbeHandler::StreamingInputCall);
  return def;
}

class CallPathsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seen = &seen_;
    server_ =
        std::make_unique<testing::ServerFixture>(testing::ServerFixture::Services{ProbeService()});
    ASSERT_TRUE(server_->Start().ok());
    stub_ = grpc::testing::TestService::NewStub(server_->channel());
  }
  void TearDown() override {
    EXPECT_TRUE(server_->WaitUntilNoCalls(10s));
    stub_.reset();
    server_->Shutdown(0ms);
    // Request tags !ok: every posted request was freed at shutdown.
    EXPECT_EQ(server_->live_call_objects(), 0) << "shutdown left call objects";
    server_.reset();
    seen = nullptr;
  }

  static void SetDeadline(grpc::ClientContext& context) {
    context.set_deadline(std::chrono::system_clock::now() + 20s);
  }

  Seen seen_;
  std::unique_ptr<testing::ServerFixture> server_;
  std::unique_ptr<grpc::testing::TestService::Stub> stub_;
};

TEST_F(CallPathsTest, ShutdownFreesEveryPostedRequest) {
  EXPECT_GT(server_->idle_call_objects(), 0);
  EXPECT_EQ(server_->live_call_objects(), server_->idle_call_objects());
  // TearDown shuts down and expects zero: each posted request's tag came back !ok and freed it.
}

TEST_F(CallPathsTest, LastHandleDroppedWithoutAnswerAnswersInternal) {
  grpc::ClientContext context;
  SetDeadline(context);
  pb::SimpleRequest request;
  request.set_response_size(0);
  pb::SimpleResponse response;
  grpc::Status status = stub_->UnaryCall(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_NE(status.error_message().find("did not answer"), std::string::npos)
      << status.error_message();
}

TEST_F(CallPathsTest, FinishAfterTheDoneTagIsRefusedAndTheCallIsFreedOnce) {
  grpc::ClientContext context;
  SetDeadline(context);
  pb::SimpleRequest request;
  request.set_response_size(1);
  pb::SimpleResponse response;
  std::thread canceller([&] {
    testing::WaitFor([] { return seen->handler_started.load(); }, 10s);
    context.TryCancel();
  });
  grpc::Status status = stub_->UnaryCall(&context, request, &response);
  canceller.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(testing::WaitFor([] { return seen->finish_after_done.load() != -1; }, 10s));
  EXPECT_EQ(seen->cancels.load(), 1);
  // The handle outlived the done tag; Finish went to gRPC (its tag comes back !ok) or was
  // refused; either way TearDown sees the call freed, and ASan sees it freed once.
  EXPECT_GE(seen->finish_after_done.load(), 0);
}

TEST_F(CallPathsTest, AccessorsAndPreSerializedReplyCrossTheWire) {
  grpc::ClientContext context;
  SetDeadline(context);
  context.AddMetadata("x-probe", "hello");
  pb::SimpleRequest request;
  request.set_response_size(2);
  pb::SimpleResponse response;
  grpc::Status status = stub_->UnaryCall(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.username(), "hello");
  EXPECT_FALSE(response.hostname().empty());  // the peer as the transport names it
  EXPECT_EQ(response.oauth_scope(), "deadline");
  auto initial = context.GetServerInitialMetadata().find("x-initial");
  ASSERT_NE(initial, context.GetServerInitialMetadata().end());
  EXPECT_EQ(std::string(initial->second.data(), initial->second.size()), "i");
  auto trailing = context.GetServerTrailingMetadata().find("x-trailing");
  ASSERT_NE(trailing, context.GetServerTrailingMetadata().end());
  EXPECT_EQ(std::string(trailing->second.data(), trailing->second.size()), "t");
}

TEST_F(CallPathsTest, HalfCloseEndsReadsAndTheHandlerAnswers) {
  grpc::ClientContext context;
  SetDeadline(context);
  pb::StreamingInputCallResponse response;
  auto writer = stub_->StreamingInputCall(&context, &response);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(writer->Write(pb::StreamingInputCallRequest()));
  ASSERT_TRUE(writer->WritesDone());
  grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.aggregated_payload_size(), 3);
  EXPECT_EQ(seen->reads_done.load(), 1);
  EXPECT_EQ(seen->cancels.load(), 0);
}

TEST_F(CallPathsTest, CancelWhileAReadIsInFlightEndsReadsAndRunsOnCancel) {
  grpc::ClientContext context;
  SetDeadline(context);
  pb::StreamingInputCallResponse response;
  auto writer = stub_->StreamingInputCall(&context, &response);
  ASSERT_TRUE(writer->Write(pb::StreamingInputCallRequest()));
  ASSERT_TRUE(testing::WaitFor([] { return seen->reads.load() == 1; }, 10s));
  context.TryCancel();  // the server's next read is in flight: it completes !ok
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(testing::WaitFor([] { return seen->cancels.load() == 1; }, 10s));
  EXPECT_EQ(seen->reads_done.load(), 1);
}

TEST_F(CallPathsTest, CancelWithWritesQueuedFailsTheWriteAndDropsTheQueue) {
  grpc::ClientContext context;
  SetDeadline(context);
  auto reader = stub_->StreamingOutputCall(&context, pb::StreamingOutputCallRequest());
  pb::StreamingOutputCallResponse message;
  ASSERT_TRUE(reader->Read(&message));  // the stream is open and the server's queue is full
  context.TryCancel();
  while (reader->Read(&message)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(testing::WaitFor([] { return seen->cancels.load() == 1; }, 10s));
  // The write in flight came back !ok and dropped the queue: TearDown sees the call freed
  // (a reference kept by the failed write would keep it alive forever).
}

TEST_F(CallPathsTest, UnparsableStreamMessageEndsTheCallAndRunsOnCancel) {
  grpc::GenericStub generic(server_->channel());
  const std::string garbage("\xff\xff\xff\xff\xff\xff", 6);  // wire type 7 does not exist
  grpc::Slice slice(garbage);
  grpc::ByteBuffer message(&slice, 1);
  grpc::Status status;
  grpc::ClientContext context;
  SetDeadline(context);
  testing::ClientQueue queue;
  queue.CancelBeforeDrain(&context);
  auto call =
      generic.PrepareCall(&context, "/grpc.testing.TestService/StreamingInputCall", queue.cq());
  call->StartCall(testing::Tag(1));
  ASSERT_TRUE(queue.Expect(testing::Tag(1), true).Verify());
  call->Write(message, testing::Tag(2));
  ASSERT_TRUE(queue.Next(20s).has_value());  // the write may complete before or after the end
  call->Finish(&status, testing::Tag(3));
  ASSERT_TRUE(queue.Expect(testing::Tag(3), true).Verify());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  // The handler was told: without it, one that keeps its stream until the half-close (a chat
  // session) would keep it for ever.
  EXPECT_TRUE(testing::WaitFor([] { return seen->cancels.load() == 1; }, 10s));
  EXPECT_EQ(seen->reads.load(), 0);
  EXPECT_EQ(seen->reads_done.load(), 0);
}

}  // namespace
}  // namespace percore
