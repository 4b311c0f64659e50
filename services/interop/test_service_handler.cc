#include "services/interop/test_service_handler.h"

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/status.h"

namespace percore::interop {
namespace {

constexpr char kEchoInitial[] = "x-grpc-test-echo-initial";
constexpr char kEchoTrailing[] = "x-grpc-test-echo-trailing-bin";

// Echoes the interop test's metadata keys: the initial one into initial metadata, the trailing
// (binary) one into trailing metadata.
void EchoMetadata(const rpc::CallHandle& call) {
  if (std::optional<std::string_view> value = call.metadata(kEchoInitial)) {
    call.AddInitialMetadata(kEchoInitial, std::string(*value));
  }
  if (std::optional<std::string_view> value = call.metadata(kEchoTrailing)) {
    call.AddTrailingMetadata(kEchoTrailing, std::string(*value));
  }
}

Status EchoStatus(const grpc::testing::EchoStatus& echo) {
  return Status(static_cast<StatusCode>(echo.code()), echo.message());
}

bool ValidSize(int size) { return size >= 0 && size <= 64 * 1024 * 1024; }

// The responses one stream still owes, sent in order, each after its interval, respecting the
// stream's backpressure. Shared by StreamingOutputCall, FullDuplexCall and HalfDuplexCall.
template <class Stream>
class ResponsePlan : public std::enable_shared_from_this<ResponsePlan<Stream>> {
 public:
  ResponsePlan(Stream stream, runtime::Shard& shard) : stream_(std::move(stream)), shard_(shard) {}

  // A cancelled stream owes nothing more: drop the pending responses and the interval timer
  // (which holds this plan, and so the call, until it fires).
  void CancelWithStream() {
    stream_.OnCancel([weak = this->weak_from_this()] {
      if (auto self = weak.lock()) {
        self->pending_.clear();
        self->finish_when_idle_ = false;
        if (self->timer_) self->shard_.CancelTimer(*self->timer_);
        self->timer_.reset();
      }
    });
  }

  void Add(const StreamingOutputCallRequest& request) {
    for (const auto& p : request.response_parameters()) pending_.push_back(p);
    if (request.has_response_status() && request.response_status().code() != 0) {
      final_status_ = EchoStatus(request.response_status());
      finish_when_idle_ = true;
    }
  }
  // Finish with OK (or the echoed status) once every owed response is sent.
  void FinishWhenIdle() { finish_when_idle_ = true; }

  void Pump() {
    while (!busy_ && !pending_.empty()) {
      const grpc::testing::ResponseParameters& next = pending_.front();
      if (!ValidSize(next.size())) {
        pending_.clear();
        stream_.Finish(
            Status(StatusCode::kInvalidArgument, "response_parameters.size must be 0 to 64 MiB"));
        return;
      }
      if (next.interval_us() > 0 && !waited_) {
        busy_ = true;
        auto self = this->shared_from_this();
        timer_ = shard_.RunAfter(std::chrono::microseconds(next.interval_us()), [self] {
          self->timer_.reset();
          self->busy_ = false;
          self->waited_ = true;
          self->Pump();
        });
        return;
      }
      StreamingOutputCallResponse response;
      response.mutable_payload()->mutable_body()->assign(next.size(), '\0');
      if (!stream_.Write(response)) {
        // Full: resume when the queue drains (never, if the stream is gone; then the call's end
        // drops this callback and the plan with it).
        busy_ = true;
        auto self = this->shared_from_this();
        stream_.OnWritable([self] {
          self->busy_ = false;
          self->Pump();
        });
        return;
      }
      waited_ = false;
      pending_.pop_front();
    }
    if (!busy_ && pending_.empty() && finish_when_idle_) stream_.Finish(final_status_);
  }

 private:
  Stream stream_;
  runtime::Shard& shard_;
  std::deque<grpc::testing::ResponseParameters> pending_;
  Status final_status_ = Status();
  bool finish_when_idle_ = false;
  bool busy_ = false;
  bool waited_ = false;
  std::optional<runtime::TimerId> timer_;
};

}  // namespace

void TestServiceHandler::EmptyCall(rpc::UnaryCall<Empty, Empty> call) {
  EchoMetadata(call);
  call.Finish(Empty());
}

void TestServiceHandler::UnaryCall(rpc::UnaryCall<SimpleRequest, SimpleResponse> call) {
  const SimpleRequest& request = call.request();
  EchoMetadata(call);
  if (request.has_response_status() && request.response_status().code() != 0) {
    call.Finish(EchoStatus(request.response_status()));
    return;
  }
  if (!ValidSize(request.response_size())) {
    call.Finish(Status(StatusCode::kInvalidArgument, "response_size must be 0 to 64 MiB"));
    return;
  }
  SimpleResponse response;
  response.mutable_payload()->set_type(request.response_type());
  response.mutable_payload()->mutable_body()->assign(request.response_size(), '\0');
  call.Finish(response);
}

void TestServiceHandler::StreamingOutputCall(
    rpc::ServerStream<StreamingOutputCallRequest, StreamingOutputCallResponse> call) {
  EchoMetadata(call);
  auto plan = std::make_shared<ResponsePlan<decltype(call)>>(call, shard_);
  plan->CancelWithStream();
  plan->Add(call.request());
  plan->FinishWhenIdle();
  plan->Pump();
}

void TestServiceHandler::StreamingInputCall(
    rpc::ClientStream<StreamingInputCallRequest, StreamingInputCallResponse> call) {
  EchoMetadata(call);
  auto total = std::make_shared<int64_t>(0);
  call.OnRead([total](StreamingInputCallRequest&& request) {
    *total += static_cast<int64_t>(request.payload().body().size());
  });
  call.OnReadsDone([call, total] {
    StreamingInputCallResponse response;
    response.set_aggregated_payload_size(static_cast<int32_t>(*total));
    call.Finish(response);
  });
}

void TestServiceHandler::FullDuplexCall(
    rpc::BidiStream<StreamingOutputCallRequest, StreamingOutputCallResponse> call) {
  EchoMetadata(call);
  auto plan = std::make_shared<ResponsePlan<decltype(call)>>(call, shard_);
  plan->CancelWithStream();
  call.OnRead([plan](StreamingOutputCallRequest&& request) {
    plan->Add(request);
    plan->Pump();
  });
  call.OnReadsDone([plan] {
    plan->FinishWhenIdle();
    plan->Pump();
  });
}

void TestServiceHandler::HalfDuplexCall(
    rpc::BidiStream<StreamingOutputCallRequest, StreamingOutputCallResponse> call) {
  EchoMetadata(call);
  auto plan = std::make_shared<ResponsePlan<decltype(call)>>(call, shard_);
  plan->CancelWithStream();
  // Everything the client sends is answered only after it half-closes.
  call.OnRead([plan](StreamingOutputCallRequest&& request) { plan->Add(request); });
  call.OnReadsDone([plan] {
    plan->FinishWhenIdle();
    plan->Pump();
  });
}

std::shared_ptr<rpc::ServiceDef<TestServiceHandler>> MakeTestService() {
  auto def = std::make_shared<rpc::ServiceDef<TestServiceHandler>>(
      rpc::FindServiceDescriptor("grpc.testing.TestService"),
      [](runtime::Shard& shard) { return std::make_unique<TestServiceHandler>(shard); });
  def->Unary("EmptyCall", &TestServiceHandler::EmptyCall);
  def->Unary("UnaryCall", &TestServiceHandler::UnaryCall);
  def->Unary("CacheableUnaryCall", &TestServiceHandler::UnaryCall);
  def->ServerStream("StreamingOutputCall", &TestServiceHandler::StreamingOutputCall);
  def->ClientStream("StreamingInputCall", &TestServiceHandler::StreamingInputCall);
  def->Bidi("FullDuplexCall", &TestServiceHandler::FullDuplexCall);
  def->Bidi("HalfDuplexCall", &TestServiceHandler::HalfDuplexCall);
  return def;
}

}  // namespace percore::interop
