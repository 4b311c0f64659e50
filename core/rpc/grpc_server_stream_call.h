#pragma once
// Threading contract: see call_base.h; on the call's shard.
//
// libgrpc's server-streaming call data, implementing ServerStreamOps (call_ops.h) for the
// ServerStream handle: the request arrives with the call; the handler writes any number of
// messages through the bounded StreamWriter and then Finish()es:
//   posted --request ok--> handler runs --Write()*--> writing --Finish()--> finishing
//   --finish tag--> (freed when the done tag and every handle are gone)

#include <grpcpp/support/async_stream.h>

#include "core/rpc/call_ops.h"
#include "core/rpc/stream_writer.h"
#include "core/rpc/typed_slot.h"

namespace percore::rpc {

template <class Req, class Resp>
class ServerStreamCallData final : public CallBase,
                                   public WritesThroughWriter<ServerStreamCallData<Req, Resp>,
                                                              ServerStreamOps<Req, Resp>, Resp> {
 public:
  using Ops = ServerStreamOps<Req, Resp>;
  using Writer = StreamWriter<grpc::ServerAsyncWriter<grpc::ByteBuffer>>;

  explicit ServerStreamCallData(MethodSlot& slot)
      : CallBase(slot),
        stream_(&context_),
        writer_(*this, stream_, slot.limits().stream_queue_messages) {
    slot.service().RequestServerStreaming(slot.index(), &context_, &request_bytes_, &stream_,
                                          slot.shard().server_cq(), &request_tag_);
  }

  const Req& request() const override { return request_; }
  Writer& writer() { return writer_; }
  const Writer& writer() const { return writer_; }

 private:
  void FinishWithStatus(const Status& status) override { writer_.Finish(ToGrpcStatus(status)); }
  bool finish_requested() const override { return writer_.finish_requested(); }
  void ClearCallbacks() override { writer_.ClearCallbacks(); }

  void OnRequest(bool ok) {
    OnRequestMessage(ok, request_bytes_, request_, static_cast<Ops*>(this));
  }

  grpc::ByteBuffer request_bytes_;
  Req request_;
  grpc::ServerAsyncWriter<grpc::ByteBuffer> stream_;
  Writer writer_;
  runtime::CompletionTag request_tag_{
      &runtime::OnTag<ServerStreamCallData, &ServerStreamCallData::OnRequest>, this};
};

}  // namespace percore::rpc
