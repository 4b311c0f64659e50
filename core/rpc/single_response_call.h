#pragma once
// Threading contract: see call_base.h; every member on the call's shard.
//
// The answer of the libgrpc call data that answer with one message (unary, client streaming):
// RespondOps (call_ops.h) over libgrpc's responder. The call ends with Finish(response) or
// Finish(status), once; the finish tag holds a reference until libgrpc is done with it. Shared
// by UnaryCallData and ClientStreamCallData; Ops is their shape interface.

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>

#include "core/base/status.h"
#include "core/rpc/call_base.h"
#include "core/rpc/codec.h"
#include "core/rpc/grpc_bytes.h"
#include "core/rpc/grpc_status.h"
#include "core/rpc/serialized_message.h"
#include "core/runtime/completion_tag.h"

namespace percore::rpc {

// Responder: grpc::ServerAsyncResponseWriter or grpc::ServerAsyncReader over ByteBuffers (both
// have Finish(message, status, tag) and FinishWithError(status, tag)).
template <class Ops, class Resp, class Responder>
class SingleResponseCall : public CallBase, public Ops {
 public:
  explicit SingleResponseCall(MethodSlot& slot) : CallBase(slot), responder_(&context_) {}

  // Each returns false if the call was already answered.
  bool Finish(const Resp& response) override {
    return FinishBytes(Codec<Resp>::Serialize(response));
  }
  bool FinishRaw(const SerializedMessage& response) override {
    return FinishBytes(ToByteBuffer(response));
  }
  bool Finish(const Status& status) override { return FinishStatus(ToGrpcStatus(status)); }

  void FinishWithStatus(const Status& status) override { FinishStatus(ToGrpcStatus(status)); }
  bool finish_requested() const override { return finish_requested_; }

 protected:
  Responder responder_;

 private:
  bool write_in_flight() const override { return finish_requested_; }

  bool FinishStatus(const grpc::Status& status) {
    if (status.ok()) return FinishBytes(Codec<Resp>::Serialize(Resp()));  // OK: the default message
    if (!StartFinish()) return false;
    responder_.FinishWithError(status, &finish_tag_);
    return true;
  }
  bool FinishBytes(const grpc::ByteBuffer& response) {
    if (!StartFinish()) return false;
    responder_.Finish(response, grpc::Status::OK, &finish_tag_);
    return true;
  }
  // False when already answered or the queue is closed (shutdown: the answer cannot be sent).
  bool StartFinish() {
    if (finish_requested_) return false;
    finish_requested_ = true;
    if (!shard().cq_open()) return false;
    Ref();
    return true;
  }
  void OnFinished(bool /*ok*/) { Unref(); }

  bool finish_requested_ = false;
  runtime::CompletionTag finish_tag_{
      &runtime::OnTag<SingleResponseCall, &SingleResponseCall::OnFinished>, this};
};

}  // namespace percore::rpc
