// grpc.testing.TestService across the server's drain and shutdown: new calls refused while
// open streams carry on, and open streams ended within the grace period.

#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tests/services/interop/interop_test_support.h"

namespace percore::interop {
namespace {

TEST_F(InteropTest, DrainRefusesNewCallsWithUnavailable) {
  // A stream opened before the drain carries on; a call started after it is refused.
  ClientContext stream_context;
  auto stream = FullDuplex(stream_context);
  StreamingOutputCallResponse response;
  ASSERT_TRUE(PingPong(*stream, OutputRequest(10, 0), &response));

  server_->host().BeginDrain();

  ClientContext context;
  SetDeadline(context);
  SimpleResponse unary_response;
  Status status = stub_->UnaryCall(&context, SimpleRequest(), &unary_response);
  EXPECT_EQ(status.error_code(), StatusCode::UNAVAILABLE) << status.error_message();

  ASSERT_TRUE(stream->Write(OutputRequest(20, 0)));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.payload().body().size(), 20u);
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_FALSE(stream->Read(&response));
  Status stream_status = stream->Finish();
  EXPECT_TRUE(stream_status.ok()) << stream_status.error_message();
}

TEST_F(InteropTest, ShutdownWithOpenStreamsEndsWithinGrace) {
  constexpr int kIdleBidi = 20;
  constexpr int kSleepingOutput = 20;
  constexpr auto kGrace = 1000ms;

  // A response at once (so the stream is known to be open), then one every 60 s.
  StreamingOutputCallRequest sleepy = SpacedResponses(8, std::vector<int>(10, 60 * 1000 * 1000));

  std::vector<std::unique_ptr<AsyncStream>> streams;
  ClientQueue queue;
  for (int i = 0; i < kIdleBidi + kSleepingOutput; ++i) {
    auto s = std::make_unique<AsyncStream>();
    queue.Adopt(&s->context, 60s);
    if (i < kIdleBidi) {
      s->bidi = stub_->PrepareAsyncFullDuplexCall(&s->context, queue.cq());
      s->bidi->StartCall(s->tag(AsyncStream::kStart));
    } else {
      s->server_stream = stub_->PrepareAsyncStreamingOutputCall(&s->context, sleepy, queue.cq());
      s->server_stream->StartCall(s->tag(AsyncStream::kStart));
    }
    streams.push_back(std::move(s));
  }
  // Each started stream keeps one Read outstanding; the output streams' first response is
  // consumed so that their Read then waits on the 60 s interval.
  int first_responses = 0;
  int started = 0;
  auto until = std::chrono::steady_clock::now() + 30s;
  while (started < kIdleBidi + kSleepingOutput || first_responses < kSleepingOutput) {
    ASSERT_LT(std::chrono::steady_clock::now(), until);
    auto event = queue.Next(1s);
    if (!event) continue;
    auto [s, op] = AsyncStream::FromTag(event->tag);
    ASSERT_TRUE(event->ok) << "op " << op;
    if (op == AsyncStream::kStart) {
      s->started = true;
      ++started;
      s->Read();
    } else if (op == AsyncStream::kRead) {
      ++first_responses;
      s->Read();
    }
  }
  ASSERT_TRUE(WaitFor([&] { return server_->live_calls() == kIdleBidi + kSleepingOutput; }, 10s))
      << server_->live_calls();

  auto took = server_->TimedShutdown(kGrace);
  // A functional bound (not a performance target): the grace period plus the host's bounded
  // wait for cancelled calls to let go.
  EXPECT_LT(took, kGrace + 6s) << took.count() << " ms";
  std::printf("[          ] Shutdown(%lld ms) with %d open streams took %lld ms\n",
              static_cast<long long>(kGrace.count()), kIdleBidi + kSleepingOutput,
              static_cast<long long>(took.count()));

  // Every client stream ends, with a status that says the server went away.
  int finished = 0;
  until = std::chrono::steady_clock::now() + 30s;
  while (finished < kIdleBidi + kSleepingOutput) {
    ASSERT_LT(std::chrono::steady_clock::now(), until) << finished << " finished";
    auto event = queue.Next(1s);
    if (!event) continue;
    auto [s, op] = AsyncStream::FromTag(event->tag);
    if (op == AsyncStream::kRead) {
      if (event->ok) {
        ADD_FAILURE() << "a response arrived during shutdown";
        s->Read();
      } else {
        s->Finish();
      }
    } else if (op == AsyncStream::kFinish) {
      s->finished = true;
      ++finished;
      StatusCode code = s->status.error_code();
      EXPECT_TRUE(code == StatusCode::UNAVAILABLE || code == StatusCode::CANCELLED)
          << "status " << code << " " << s->status.error_message();
    }
  }
}

}  // namespace
}  // namespace percore::interop
