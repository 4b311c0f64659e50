#pragma once
// Threading contract: as forwarded_call.h: started on a shard thread, on that shard's completion
// queue; every tag, and so `done`, runs on the same thread; listed in the shard's in-flight calls
// until it completes (shutdown cancels it).
//
// One server-streaming call to another member at the byte level (grpc::GenericStub): the request
// bytes, the caller's deadline and metadata, then every response message up to `max_messages`
// (more: the call is cancelled and answered RESOURCE_EXHAUSTED, so a member cannot make this one
// buffer without bound). One operation in flight at a time: start, the request with the
// half-close, the reads, the finish; every `ok == false` goes on to the finish, which always
// completes and says what happened.

#include <grpcpp/client_context.h>
#include <grpcpp/completion_queue.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include <string>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/rpc/grpc_status.h"
#include "core/runtime/completion_tag.h"
#include "services/cluster/forwarded_call.h"
#include "services/remote/in_flight_calls.h"

namespace percore::cluster {

using StreamDone = std::function<void(const Status& status, std::vector<std::string> messages)>;

class ForwardedStreamCall final : public remote::InFlightCall {
 public:
  static void Start(grpc::GenericStub& stub, remote::InFlightCalls& calls,
                    grpc::CompletionQueue* cq, ForwardRequest request, size_t max_messages,
                    StreamDone done) {
    auto* call =
        new ForwardedStreamCall(calls, std::move(request.request), max_messages, std::move(done));
    if (request.deadline != std::chrono::system_clock::time_point::max()) {
      call->context_.set_deadline(request.deadline);
    }
    call->context_.set_wait_for_ready(false);
    for (auto& [key, value] : request.metadata) call->context_.AddMetadata(key, value);
    call->stream_ = stub.PrepareCall(&call->context_, request.path, cq);
    call->stream_->StartCall(&call->start_tag_);
    calls.Add(call);
  }

  void Cancel() override { context_.TryCancel(); }

 private:
  ForwardedStreamCall(remote::InFlightCalls& calls, grpc::ByteBuffer request, size_t max_messages,
                      StreamDone done)
      : calls_(calls),
        request_(std::move(request)),
        max_messages_(max_messages),
        done_(std::move(done)) {}
  ~ForwardedStreamCall() = default;

  void OnStart(bool ok) {
    if (!ok) return Finish();
    stream_->Write(request_, grpc::WriteOptions().set_last_message(), &write_tag_);
  }
  void OnWrite(bool ok) {
    if (!ok) return Finish();
    stream_->Read(&response_, &read_tag_);
  }
  void OnRead(bool ok) {
    if (!ok) return Finish();  // the server's stream is over: its status follows
    if (messages_.size() == max_messages_) {
      too_many_ = true;
      context_.TryCancel();
      return Finish();
    }
    grpc::Slice slice;
    std::string bytes;
    if (response_.TrySingleSlice(&slice).ok() || response_.DumpToSingleSlice(&slice).ok()) {
      bytes.assign(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    messages_.push_back(std::move(bytes));
    stream_->Read(&response_, &read_tag_);
  }
  void Finish() { stream_->Finish(&status_, &finish_tag_); }
  // Finish always completes with ok == true; the outcome is in status_.
  void OnFinish(bool /*ok*/) {
    calls_.Remove(this);
    StreamDone done = std::move(done_);
    Status status =
        too_many_ ? Status(StatusCode::kResourceExhausted,
                           "a member sent more than " + std::to_string(max_messages_) + " messages")
                  : rpc::FromGrpcStatus(status_);
    std::vector<std::string> messages = std::move(messages_);
    delete this;
    done(status, std::move(messages));
  }

  remote::InFlightCalls& calls_;
  grpc::ByteBuffer request_;
  size_t max_messages_;
  StreamDone done_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> stream_;
  grpc::ByteBuffer response_;
  std::vector<std::string> messages_;
  bool too_many_ = false;
  grpc::Status status_;
  runtime::CompletionTag start_tag_{
      &runtime::OnTag<ForwardedStreamCall, &ForwardedStreamCall::OnStart>, this};
  runtime::CompletionTag write_tag_{
      &runtime::OnTag<ForwardedStreamCall, &ForwardedStreamCall::OnWrite>, this};
  runtime::CompletionTag read_tag_{
      &runtime::OnTag<ForwardedStreamCall, &ForwardedStreamCall::OnRead>, this};
  runtime::CompletionTag finish_tag_{
      &runtime::OnTag<ForwardedStreamCall, &ForwardedStreamCall::OnFinish>, this};
};

}  // namespace percore::cluster
