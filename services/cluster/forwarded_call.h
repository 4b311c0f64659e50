#pragma once
// Threading contract: started on a shard thread, on that shard's completion queue; its tag, and
// so `done`, run on the same thread. Like remote::RemoteUnaryCall, it is listed in its shard's
// in-flight calls until it completes, so shutdown can cancel it; the queue cannot finish
// draining while it is pending, so a completion never arrives after the shard has gone.
//
// One unary call forwarded to the partition that owns its key, at the byte level
// (grpc::GenericStub): the request bytes as they came, the caller's deadline, the metadata that
// must cross (authorization, trace context) and the mark that it was forwarded, so the owner
// serves it and never forwards it again.

#include <grpcpp/client_context.h>
#include <grpcpp/completion_queue.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/cluster/forwarded_mark.h"
#include "core/rpc/grpc_status.h"
#include "core/rpc/serialized_message.h"
#include "core/runtime/completion_tag.h"
#include "services/remote/in_flight_calls.h"

namespace percore::cluster {

struct ForwardRequest {
  std::string path;  // "/user.v1.UserService/GetUser"
  grpc::ByteBuffer request;
  std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max();
  std::vector<std::pair<std::string, std::string>> metadata;
  // Wait (within the deadline) for an unreachable owner instead of failing UNAVAILABLE at once:
  // only for a service's own call that asked for it (clients::CallOptions::wait_for_ready). A
  // client's call the router forwards never waits: gRPC does not send the client's
  // wait_for_ready, and a partition that is down must answer its keys UNAVAILABLE quickly.
  bool wait_for_ready = false;
};

using ForwardDone = std::function<void(const Status& status, const rpc::SerializedMessage& bytes)>;

class ForwardedCall final : public remote::InFlightCall {
 public:
  static void Start(grpc::GenericStub& stub, remote::InFlightCalls& calls,
                    grpc::CompletionQueue* cq, ForwardRequest request, ForwardDone done) {
    auto* call = new ForwardedCall(calls, std::move(done));
    if (request.deadline != std::chrono::system_clock::time_point::max()) {
      call->context_.set_deadline(request.deadline);
    }
    // Unless asked to wait, fail at once while the owner is unreachable (UNAVAILABLE).
    call->context_.set_wait_for_ready(request.wait_for_ready);
    for (auto& [key, value] : request.metadata) call->context_.AddMetadata(key, value);
    call->reader_ = stub.PrepareUnaryCall(&call->context_, request.path, request.request, cq);
    call->reader_->StartCall();
    call->reader_->Finish(&call->response_, &call->status_, &call->finish_tag_);
    calls.Add(call);
  }

  void Cancel() override { context_.TryCancel(); }

 private:
  ForwardedCall(remote::InFlightCalls& calls, ForwardDone done)
      : calls_(calls), done_(std::move(done)) {}
  ~ForwardedCall() = default;

  // A unary Finish always completes with ok == true; the outcome is in status_.
  void OnFinish(bool /*ok*/) {
    calls_.Remove(this);
    ForwardDone done = std::move(done_);
    Status status = rpc::FromGrpcStatus(status_);
    rpc::SerializedMessage bytes;
    if (status.ok()) {
      grpc::Slice slice;
      if (response_.TrySingleSlice(&slice).ok() || response_.DumpToSingleSlice(&slice).ok()) {
        bytes = rpc::SerializedMessage::Copy(
            std::string_view(reinterpret_cast<const char*>(slice.begin()), slice.size()));
      }
    }
    delete this;  // first: `done` may start new calls
    done(status, bytes);
  }

  remote::InFlightCalls& calls_;
  ForwardDone done_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<grpc::ByteBuffer>> reader_;
  grpc::ByteBuffer response_;
  grpc::Status status_;
  runtime::CompletionTag finish_tag_{&runtime::OnTag<ForwardedCall, &ForwardedCall::OnFinish>,
                                     this};
};

}  // namespace percore::cluster
