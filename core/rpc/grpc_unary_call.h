#pragma once
// Threading contract: see call_base.h; on the call's shard.
//
// libgrpc's unary call data (gRPC's CallData, one class per call shape), implementing UnaryOps
// (call_ops.h) for the UnaryCall handle:
//   posted --request ok--> handler runs --Finish()--> finishing --finish tag--> (freed when the
//   done tag and every handle are gone)
//   posted --request !ok--> freed (server shutting down; not re-posted)

#include <grpcpp/support/async_unary_call.h>

#include "core/rpc/call_ops.h"
#include "core/rpc/single_response_call.h"
#include "core/rpc/typed_slot.h"

namespace percore::rpc {

template <class Req, class Resp>
class UnaryCallData final
    : public SingleResponseCall<UnaryOps<Req, Resp>, Resp,
                                grpc::ServerAsyncResponseWriter<grpc::ByteBuffer>> {
 public:
  using Ops = UnaryOps<Req, Resp>;

  explicit UnaryCallData(MethodSlot& slot) : UnaryCallData::SingleResponseCall(slot) {
    slot.service().RequestUnary(slot.index(), &this->context_, &request_bytes_, &this->responder_,
                                slot.shard().server_cq(), &request_tag_);
  }

  const Req& request() const override { return request_; }

 private:
  void OnRequest(bool ok) {
    this->OnRequestMessage(ok, request_bytes_, request_, static_cast<Ops*>(this));
  }

  grpc::ByteBuffer request_bytes_;
  Req request_;
  runtime::CompletionTag request_tag_{&runtime::OnTag<UnaryCallData, &UnaryCallData::OnRequest>,
                                      this};
};

}  // namespace percore::rpc
