// grpc.testing.TestService: cancellation at scale and in every state a stream can be in (owing
// responses, backpressured, sleeping in an interval) frees each call object, and so do mixed
// calls.

#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/services/interop/interop_test_support.h"

namespace percore::interop {
namespace {

TEST_F(InteropTest, ThousandCancelledServerStreamsLeaveNoLiveCalls) {
  // Guards against a leak in 8875890 (fixed in 8e494b5): a cancelled stream that still owed
  // responses re-armed OnWritable on its broken writer after the call's callbacks were cleared, a
  // handle cycle that kept the call object alive forever.
  constexpr int kStreams = 1000;
  constexpr int kChannels = 4;  // 250 streams per connection, under the 1024 stream limit
  // Right after Start only the posted requests are alive.
  ASSERT_EQ(server_->live_call_objects(), server_->idle_call_objects());
  ASSERT_GT(server_->idle_call_objects(), 0);

  std::vector<std::unique_ptr<TestService::Stub>> stubs;
  for (int i = 0; i < kChannels; ++i)
    stubs.push_back(server_->MakeStub<TestService>(server_->NewChannel()));

  // Many responses with an interval, so every stream stays open (about 30 s) unless cancelled;
  // the first comes at once.
  StreamingOutputCallRequest request = SpacedResponses(16, std::vector<int>(300, 100 * 1000));

  std::vector<std::unique_ptr<AsyncStream>> streams;
  ClientQueue queue;  // destroyed (drained) before the streams
  for (int i = 0; i < kStreams; ++i) {
    auto s = std::make_unique<AsyncStream>();
    queue.Adopt(&s->context, 60s);
    s->server_stream =
        stubs[i % kChannels]->PrepareAsyncStreamingOutputCall(&s->context, request, queue.cq());
    s->server_stream->StartCall(s->tag(AsyncStream::kStart));
    streams.push_back(std::move(s));
  }

  // Phase 1: every stream delivers its first response; all 1000 are then open at once.
  int first_responses = 0;
  int failed = 0;
  auto phase_deadline = std::chrono::steady_clock::now() + 60s;
  while (first_responses + failed < kStreams) {
    ASSERT_LT(std::chrono::steady_clock::now(), phase_deadline)
        << first_responses << " first responses, " << failed << " failed";
    auto event = queue.Next(1s);
    if (!event) continue;
    auto [s, op] = AsyncStream::FromTag(event->tag);
    if (op == AsyncStream::kStart) {
      if (event->ok) {
        s->Read();
      } else {
        s->Finish();
      }
    } else if (op == AsyncStream::kRead) {
      if (event->ok) {
        s->got_first = true;
        ++first_responses;
      } else {
        s->Finish();
      }
    } else {
      s->finished = true;
      ++failed;
      ADD_FAILURE() << "stream ended before its first response: " << s->status.error_code() << " "
                    << s->status.error_message();
    }
  }
  ASSERT_EQ(first_responses, kStreams);
  EXPECT_EQ(server_->live_calls(), kStreams);

  // Phase 2: cancel every stream mid-way and collect the statuses.
  for (auto& s : streams) {
    s->context.TryCancel();
    s->Finish();
  }
  int finished = 0;
  phase_deadline = std::chrono::steady_clock::now() + 60s;
  while (finished < kStreams) {
    ASSERT_LT(std::chrono::steady_clock::now(), phase_deadline) << finished << " finished";
    auto event = queue.Next(1s);
    if (!event) continue;
    auto [s, op] = AsyncStream::FromTag(event->tag);
    ASSERT_EQ(op, AsyncStream::kFinish);
    EXPECT_EQ(s->status.error_code(), StatusCode::CANCELLED) << s->status.error_message();
    ++finished;
  }

  // Every call object is freed: only the posted requests remain, and no shard counts a call.
  EXPECT_TRUE(server_->WaitUntilNoCalls(10s));
  for (size_t i = 0; i < server_->runtime().size(); ++i) {
    EXPECT_EQ(server_->runtime().shard(static_cast<runtime::ShardId>(i)).live_calls(), 0)
        << "shard " << i;
  }
  EXPECT_TRUE(UnaryWorks());
}

// The smallest case of the test above: one stream, cancelled after its first response while
// the server still owes it two more.
TEST_F(InteropTest, CancelledStreamWithPendingResponsesIsFreed) {
  {
    ClientContext context;
    SetDeadline(context);
    auto stream = stub_->StreamingOutputCall(&context, SpacedResponses(8, {50 * 1000, 50 * 1000}));
    EXPECT_TRUE(testing::HasCode(ReadOneThenCancel(*stream, context), StatusCode::CANCELLED));
  }
  EXPECT_TRUE(server_->WaitUntilNoCalls(5s));
}

// The same for a bidi stream: cancelled while the server owes a response now and one in 30 s.
TEST_F(InteropTest, CancelledFullDuplexWithPendingResponsesIsFreed) {
  {
    ClientContext context;
    auto stream = FullDuplex(context);
    ASSERT_TRUE(stream->Write(SpacedResponses(8, {50 * 1000, 30 * 1000 * 1000})));
    EXPECT_TRUE(testing::HasCode(ReadOneThenCancel(*stream, context), StatusCode::CANCELLED));
  }
  EXPECT_TRUE(server_->WaitUntilNoCalls(2s));
}

// A client that stops reading exerts backpressure (the server's write queue fills and the
// handler waits for OnWritable); cancelling it then frees the call.
TEST_F(InteropTest, CancelledBackpressuredStreamIsFreed) {
  {
    ClientContext context;
    SetDeadline(context);
    StreamingOutputCallRequest request;
    for (int i = 0; i < 2000; ++i) request.add_response_parameters()->set_size(64 * 1024);
    auto stream = stub_->StreamingOutputCall(&context, request);
    StreamingOutputCallResponse response;
    ASSERT_TRUE(stream->Read(&response));
    // 2000 x 64 KiB is far more than the HTTP/2 windows and the writer's queue hold: the server
    // is now blocked on this reader.
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(server_->live_calls(), 1);
    context.TryCancel();
    EXPECT_EQ(stream->Finish().error_code(), StatusCode::CANCELLED);
  }
  EXPECT_TRUE(server_->WaitUntilNoCalls(2s));
  EXPECT_TRUE(UnaryWorks());
}

// A cancelled stream that sleeps in a long interval is freed at once, not when its timer fires.
TEST_F(InteropTest, CancelledSleepingStreamIsFreedPromptly) {
  // In 8875890 (fixed in 8e494b5) the pending interval timer held the call until it fired, and
  // shutdown then waited out ServerHost's 5 s fallback.
  {
    ClientContext context;
    SetDeadline(context);
    // One response now, one more in 30 s.
    auto stream = stub_->StreamingOutputCall(&context, SpacedResponses(8, {30 * 1000 * 1000}));
    EXPECT_TRUE(testing::HasCode(ReadOneThenCancel(*stream, context), StatusCode::CANCELLED));
  }
  EXPECT_TRUE(server_->WaitUntilNoCalls(2s));
}

TEST_F(InteropTest, NoCallObjectsLeakAfterMixedCalls) {
  for (int round = 0; round < 3; ++round) {
    EXPECT_TRUE(UnaryWorks());
    EXPECT_TRUE(testing::ReadStream(*stub_, &TestService::Stub::StreamingOutputCall,
                                    ResponsesOf(kResponseSizes))
                    .status.ok());
    {
      ClientContext context;
      auto stream = FullDuplex(context);
      StreamingOutputCallResponse response;
      ASSERT_TRUE(PingPong(*stream, OutputRequest(100, 100), &response));
      context.TryCancel();
      stream->Finish();
    }
  }
  EXPECT_TRUE(server_->WaitUntilNoCalls(10s));
}

}  // namespace
}  // namespace percore::interop
