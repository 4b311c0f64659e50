#pragma once
// Threading contract: an InteropTest is driven from the test's main thread; an AsyncStream is
// driven by the one thread that polls its ClientQueue.
//
// What the grpc.testing.TestService suites share: a percore server hosting "interop" that checks
// every call is freed when a test ends (CallsFreedTest), the interop cases' sizes and metadata,
// request builders, and one async output stream with its tags.

#include <grpcpp/support/async_stream.h>
#include <grpcpp/support/sync_stream.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "grpc/testing/empty.pb.h"
#include "grpc/testing/messages.pb.h"
#include "grpc/testing/test.grpc.pb.h"
#include "tests/testing/async_tags.h"
#include "tests/testing/e2e.h"

namespace percore::interop {

using namespace ::percore::testing::e2e;
using ::grpc::Status;
using ::grpc::StatusCode;
using ::grpc::testing::Empty;
using ::grpc::testing::SimpleRequest;
using ::grpc::testing::SimpleResponse;
using ::grpc::testing::StreamingInputCallRequest;
using ::grpc::testing::StreamingInputCallResponse;
using ::grpc::testing::StreamingOutputCallRequest;
using ::grpc::testing::StreamingOutputCallResponse;
using ::grpc::testing::TestService;
using ::grpc::testing::UnimplementedService;

inline std::string Zeros(size_t n) { return std::string(n, '\0'); }

inline bool AllZeros(const std::string& body) {
  return body.find_first_not_of('\0') == std::string::npos;
}

inline StreamingOutputCallRequest OutputRequest(int response_size, int payload_size) {
  StreamingOutputCallRequest request;
  request.add_response_parameters()->set_size(response_size);
  if (payload_size > 0) request.mutable_payload()->set_body(Zeros(payload_size));
  return request;
}

// One response per size, all at once.
inline StreamingOutputCallRequest ResponsesOf(const std::vector<int>& sizes) {
  StreamingOutputCallRequest request;
  for (int size : sizes) request.add_response_parameters()->set_size(size);
  return request;
}

// A response of `size` bytes at once, then one more after each of `intervals_us` (microseconds
// after the one before): a stream that stays open, owing responses, for as long as they add up.
inline StreamingOutputCallRequest SpacedResponses(int size, const std::vector<int>& intervals_us) {
  StreamingOutputCallRequest request;
  request.add_response_parameters()->set_size(size);
  for (int interval_us : intervals_us) {
    auto* p = request.add_response_parameters();
    p->set_size(size);
    p->set_interval_us(interval_us);
  }
  return request;
}

// One ping-pong on a FullDuplexCall: writes `request` and reads the response it asks for into
// `response`.
inline ::testing::AssertionResult PingPong(
    grpc::ClientReaderWriter<StreamingOutputCallRequest, StreamingOutputCallResponse>& stream,
    const StreamingOutputCallRequest& request, StreamingOutputCallResponse* response) {
  if (!stream.Write(request)) return ::testing::AssertionFailure() << "the write failed";
  if (!stream.Read(response)) return ::testing::AssertionFailure() << "no response came";
  return ::testing::AssertionSuccess();
}

// Reads the first response of `stream`, cancels the call, and returns the status it ends with
// (INTERNAL, naming it, if the stream ended before a first response).
template <class Stream>
Status ReadOneThenCancel(Stream& stream, ClientContext& context) {
  StreamingOutputCallResponse response;
  bool got_first = stream.Read(&response);
  context.TryCancel();
  Status status = stream.Finish();
  if (!got_first) {
    return Status(StatusCode::INTERNAL,
                  "stream ended before its first response: " + testing::Describe(status));
  }
  return status;
}

// The interop cases' sizes.
constexpr int kLargeRequest = 271828;
constexpr int kLargeResponse = 314159;
const std::vector<int> kRequestSizes = {27182, 8, 1828, 45904};  // sum 74922
const std::vector<int> kResponseSizes = {31415, 9, 2653, 58979};

constexpr char kEchoInitialKey[] = "x-grpc-test-echo-initial";
constexpr char kEchoInitialValue[] = "test_initial_metadata_value";
constexpr char kEchoTrailingKey[] = "x-grpc-test-echo-trailing-bin";
const std::string kEchoTrailingValue("\x0a\x0b\x0a\x0b\x0a\x0b", 6);

class InteropTest : public testing::CallsFreedTest<TestService> {
 protected:
  Services MakeServices() override { return ServerFixture::CatalogServices({"interop"}); }

  // A FullDuplexCall on `context`, which gets the suites' deadline (SetDeadline).
  std::unique_ptr<grpc::ClientReaderWriter<StreamingOutputCallRequest, StreamingOutputCallResponse>>
  FullDuplex(ClientContext& context) {
    SetDeadline(context);
    return stub_->FullDuplexCall(&context);
  }

  // A plain unary round trip: proves the server still serves.
  ::testing::AssertionResult UnaryWorks() {
    SimpleRequest request;
    request.set_response_size(10);
    SimpleResponse response;
    Status status = testing::CallUnary(*stub_, &TestService::Stub::UnaryCall, request, &response);
    if (!status.ok()) {
      return ::testing::AssertionFailure()
             << "UnaryCall: " << status.error_code() << " " << status.error_message();
    }
    if (response.payload().body().size() != 10) {
      return ::testing::AssertionFailure() << "wrong response size";
    }
    return ::testing::AssertionSuccess();
  }
};

// One async output stream (server-streaming or bidi) and its client-side state machine.
struct AsyncStream : testing::OpTags<AsyncStream> {
  enum : Op { kStart = 0, kRead = 1, kFinish = 2 };

  void Read() {
    if (bidi) {
      bidi->Read(&response, tag(kRead));
    } else {
      server_stream->Read(&response, tag(kRead));
    }
  }
  void Finish() {
    if (bidi) {
      bidi->Finish(&status, tag(kFinish));
    } else {
      server_stream->Finish(&status, tag(kFinish));
    }
  }

  ClientContext context;
  StreamingOutputCallResponse response;
  Status status;
  std::unique_ptr<
      grpc::ClientAsyncReaderWriter<StreamingOutputCallRequest, StreamingOutputCallResponse>>
      bidi;
  std::unique_ptr<grpc::ClientAsyncReader<StreamingOutputCallResponse>> server_stream;
  bool started = false;
  bool got_first = false;
  bool finished = false;
};

}  // namespace percore::interop
