#pragma once
// Threading contract: see call_base.h; on the call's shard.
//
// libgrpc's client-streaming call data, implementing ClientStreamOps (call_ops.h) for the
// ClientStream handle: the handler is called when the call arrives, sets OnRead/OnReadsDone,
// and answers once with Finish(response) or Finish(status), usually from OnReadsDone:
//   posted --request ok--> handler runs --> reading (OnRead per message) --half-close-->
//   OnReadsDone --Finish()--> finishing --finish tag--> (freed when done tag and handles gone)

#include <grpcpp/support/async_stream.h>

#include "core/rpc/call_ops.h"
#include "core/rpc/single_response_call.h"
#include "core/rpc/stream_reader.h"
#include "core/rpc/typed_slot.h"

namespace percore::rpc {

using ClientStreamResponder = grpc::ServerAsyncReader<grpc::ByteBuffer, grpc::ByteBuffer>;

template <class Req, class Resp>
class ClientStreamCallData final
    : public SingleResponseCall<
          ReadsThroughReader<ClientStreamCallData<Req, Resp>, ClientStreamOps<Req, Resp>, Req>,
          Resp, ClientStreamResponder> {
 public:
  using Ops = ClientStreamOps<Req, Resp>;
  using Reader = StreamReader<ClientStreamResponder, Req>;

  explicit ClientStreamCallData(MethodSlot& slot)
      : ClientStreamCallData::SingleResponseCall(slot), reader_(*this, this->responder_) {
    slot.service().RequestClientStreaming(slot.index(), &this->context_, &this->responder_,
                                          slot.shard().server_cq(), &request_tag_);
  }

  Reader& reader() { return reader_; }
  const Reader& reader() const { return reader_; }

 private:
  void ClearCallbacks() override { reader_.ClearCallbacks(); }

  void OnRequest(bool ok) {
    this->OnRequestStream(ok, static_cast<Ops*>(this), [this] { reader_.Start(); });
  }

  Reader reader_;
  runtime::CompletionTag request_tag_{
      &runtime::OnTag<ClientStreamCallData, &ClientStreamCallData::OnRequest>, this};
};

}  // namespace percore::rpc
