#pragma once
// Threading contract: see call_base.h. UnaryCall is the handler's handle: Finish() from the
// call's shard (after a Hop, the continuation runs there).
//
// The unary state machine (gRPC's CallData, one class per call shape):
//   posted --request ok--> handler runs --Finish()--> finishing --finish tag--> (freed when the
//   done tag and every handle are gone)
//   posted --request !ok--> freed (server shutting down; not re-posted)

#include <grpcpp/support/async_unary_call.h>

#include "core/rpc/handle_methods.h"
#include "core/rpc/single_response_call.h"
#include "core/rpc/typed_slot.h"

namespace percore::rpc {

template <class Req, class Resp>
class UnaryCallData final
    : public SingleResponseCall<Resp, grpc::ServerAsyncResponseWriter<grpc::ByteBuffer>> {
 public:
  explicit UnaryCallData(TypedSlot<UnaryCall<Req, Resp>>& slot)
      : UnaryCallData::SingleResponseCall(slot) {
    slot.service().RequestUnary(slot.index(), &this->context_, &request_bytes_, &this->responder_,
                                slot.shard().server_cq(), &request_tag_);
  }

  const Req& request() const { return request_; }

 private:
  void OnRequest(bool ok) {
    this->OnRequestMessage(ok, request_bytes_, request_, [this] {
      static_cast<TypedSlot<UnaryCall<Req, Resp>>&>(this->slot_).Invoke(UnaryCall<Req, Resp>(this));
    });
  }

  grpc::ByteBuffer request_bytes_;
  Req request_;
  runtime::CompletionTag request_tag_{&runtime::OnTag<UnaryCallData, &UnaryCallData::OnRequest>,
                                      this};
};

// The handler's handle to a unary call. Copyable; the call stays alive while a handle exists.
template <class Req, class Resp>
class UnaryCall final : public RespondMethods<TypedCallHandle<UnaryCallData<Req, Resp>>, Resp> {
 public:
  using UnaryCall::RespondMethods::RespondMethods;
  const Req& request() const { return this->data().request(); }
};

}  // namespace percore::rpc
