#pragma once
// Threading contract: see call_base.h; every ClientStream method on the call's shard.
//
// Client streaming: the handler is called when the call arrives, sets OnRead/OnReadsDone, and
// answers once with Finish(response) or Finish(status), usually from OnReadsDone:
//   posted --request ok--> handler runs --> reading (OnRead per message) --half-close-->
//   OnReadsDone --Finish()--> finishing --finish tag--> (freed when done tag and handles gone)

#include <grpcpp/support/async_stream.h>

#include "core/rpc/handle_methods.h"
#include "core/rpc/single_response_call.h"
#include "core/rpc/stream_reader.h"
#include "core/rpc/typed_slot.h"

namespace percore::rpc {

template <class Req, class Resp>
class ClientStreamCallData final
    : public SingleResponseCall<Resp, grpc::ServerAsyncReader<grpc::ByteBuffer, grpc::ByteBuffer>> {
 public:
  using Reader = StreamReader<grpc::ServerAsyncReader<grpc::ByteBuffer, grpc::ByteBuffer>, Req>;

  explicit ClientStreamCallData(TypedSlot<ClientStream<Req, Resp>>& slot)
      : ClientStreamCallData::SingleResponseCall(slot), reader_(*this, this->responder_) {
    slot.service().RequestClientStreaming(slot.index(), &this->context_, &this->responder_,
                                          slot.shard().server_cq(), &request_tag_);
  }

  Reader& reader() { return reader_; }

 private:
  void ClearCallbacks() override { reader_.ClearCallbacks(); }

  void OnRequest(bool ok) {
    this->OnRequestStream(
        ok,
        [this] {
          static_cast<TypedSlot<ClientStream<Req, Resp>>&>(this->slot_)
              .Invoke(ClientStream<Req, Resp>(this));
        },
        [this] { reader_.Start(); });
  }

  Reader reader_;
  runtime::CompletionTag request_tag_{
      &runtime::OnTag<ClientStreamCallData, &ClientStreamCallData::OnRequest>, this};
};

// The handler's handle to a client-streaming call.
template <class Req, class Resp>
class ClientStream final
    : public RespondMethods<ReadMethods<TypedCallHandle<ClientStreamCallData<Req, Resp>>, Req>,
                            Resp> {
 public:
  using ClientStream::RespondMethods::RespondMethods;
};

}  // namespace percore::rpc
