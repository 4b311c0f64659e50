#pragma once
// Threading contract: see call_base.h. UnaryCall is the handler's handle: Finish() from the
// call's shard (after a Hop, the continuation runs there).
//
// The unary state machine (gRPC's CallData, one class per call shape):
//   posted --request ok--> handler runs --Finish()--> finishing --finish tag--> (freed when the
//   done tag and every handle are gone)
//   posted --request !ok--> freed (server shutting down; not re-posted)

#include <grpcpp/support/async_unary_call.h>

#include "core/rpc/call_base.h"
#include "core/rpc/codec.h"
#include "core/rpc/grpc_status.h"

namespace percore::rpc {

template <class Req, class Resp>
class UnaryCall;

template <class Req, class Resp>
class UnarySlot : public MethodSlot {
 public:
  using MethodSlot::MethodSlot;
  void PostOne() override;
  virtual void Invoke(UnaryCall<Req, Resp> call) = 0;
};

template <class Req, class Resp>
class UnaryCallData final : public CallBase {
 public:
  explicit UnaryCallData(UnarySlot<Req, Resp>& slot) : CallBase(slot), responder_(&context_) {
    slot.service().RequestUnary(slot.index(), &context_, &request_bytes_, &responder_,
                                slot.shard().server_cq(), &request_tag_);
  }

  const Req& request() const { return request_; }

  bool Finish(const Resp& response) { return FinishRaw(Codec<Resp>::Serialize(response)); }
  bool FinishRaw(const grpc::ByteBuffer& response) {
    if (!StartFinish()) return false;
    responder_.Finish(response, grpc::Status::OK, &finish_tag_);
    return true;
  }
  bool Finish(const grpc::Status& status) {
    if (status.ok()) return Finish(Resp());
    if (!StartFinish()) return false;
    responder_.FinishWithError(status, &finish_tag_);
    return true;
  }

 private:
  void FinishWithStatus(const grpc::Status& status) override { Finish(status); }
  bool finish_requested() const override { return finish_requested_; }

  // False when already answered or the queue is closed (shutdown: the answer cannot be sent).
  bool StartFinish() {
    if (finish_requested_) return false;
    finish_requested_ = true;
    if (!shard().cq_open()) return false;
    Ref();
    return true;
  }

  void OnRequest(bool ok) {
    if (ok && BeginCall() && !RejectOversized(request_bytes_)) {
      if (!Codec<Req>::Parse(&request_bytes_, &request_)) {
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "request is not a valid " + Codec<Req>::TypeName()));
      } else {
        auto& slot = static_cast<UnarySlot<Req, Resp>&>(slot_);
        Dispatch([&] { slot.Invoke(UnaryCall<Req, Resp>(this)); });
      }
    }
    Unref();  // the request tag
  }
  void OnFinished(bool /*ok*/) { Unref(); }

  grpc::ByteBuffer request_bytes_;
  Req request_;
  grpc::ServerAsyncResponseWriter<grpc::ByteBuffer> responder_;
  bool finish_requested_ = false;
  runtime::CompletionTag request_tag_{&runtime::OnTag<UnaryCallData, &UnaryCallData::OnRequest>,
                                      this};
  runtime::CompletionTag finish_tag_{&runtime::OnTag<UnaryCallData, &UnaryCallData::OnFinished>,
                                     this};
};

template <class Req, class Resp>
void UnarySlot<Req, Resp>::PostOne() {
  new UnaryCallData<Req, Resp>(*this);
}

// The handler's handle to a unary call. Copyable; the call stays alive while a handle exists.
template <class Req, class Resp>
class UnaryCall {
 public:
  explicit UnaryCall(UnaryCallData<Req, Resp>* data) : ref_(data) {}

  const Req& request() const { return ref_->request(); }
  grpc::ServerContext& context() const { return ref_->context(); }
  runtime::Shard& shard() const { return ref_->shard(); }
  bool cancelled() const { return ref_->cancelled(); }
  void OnCancel(std::function<void()> fn) const { ref_->OnCancel(std::move(fn)); }

  // Each returns false if the call was already answered.
  bool Finish(const Resp& response) const { return ref_->Finish(response); }
  bool Finish(const grpc::Status& status) const { return ref_->Finish(status); }
  bool Finish(const Status& status) const { return ref_->Finish(ToGrpcStatus(status)); }
  // Bytes of an already serialized Resp (kept pre-serialized, sent without a copy).
  bool FinishRaw(const grpc::ByteBuffer& response) const { return ref_->FinishRaw(response); }

 private:
  CallRef<UnaryCallData<Req, Resp>> ref_;
};

}  // namespace percore::rpc
