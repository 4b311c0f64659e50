#pragma once
// Threading contract: see call_base.h; every ServerStream method on the call's shard.
//
// Server streaming: the request arrives with the call; the handler writes any number of
// messages through the bounded StreamWriter and then Finish()es:
//   posted --request ok--> handler runs --Write()*--> writing --Finish()--> finishing
//   --finish tag--> (freed when the done tag and every handle are gone)

#include <grpcpp/support/async_stream.h>

#include "core/rpc/call_base.h"
#include "core/rpc/codec.h"
#include "core/rpc/grpc_status.h"
#include "core/rpc/stream_writer.h"

namespace percore::rpc {

template <class Req, class Resp>
class ServerStream;

template <class Req, class Resp>
class ServerStreamSlot : public MethodSlot {
 public:
  using MethodSlot::MethodSlot;
  void PostOne() override;
  virtual void Invoke(ServerStream<Req, Resp> call) = 0;
};

template <class Req, class Resp>
class ServerStreamCallData final : public CallBase {
 public:
  using Writer = StreamWriter<grpc::ServerAsyncWriter<grpc::ByteBuffer>>;

  explicit ServerStreamCallData(ServerStreamSlot<Req, Resp>& slot)
      : CallBase(slot),
        stream_(&context_),
        writer_(*this, stream_, slot.limits().stream_queue_messages) {
    slot.service().RequestServerStreaming(slot.index(), &context_, &request_bytes_, &stream_,
                                          slot.shard().server_cq(), &request_tag_);
  }

  const Req& request() const { return request_; }
  Writer& writer() { return writer_; }

 private:
  void FinishWithStatus(const grpc::Status& status) override { writer_.Finish(status); }
  bool finish_requested() const override { return writer_.finish_requested(); }
  void ClearCallbacks() override { writer_.ClearCallbacks(); }

  void OnRequest(bool ok) {
    if (ok && BeginCall() && !RejectOversized(request_bytes_)) {
      if (!Codec<Req>::Parse(&request_bytes_, &request_)) {
        writer_.Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                    "request is not a valid " + Codec<Req>::TypeName()));
      } else {
        auto& slot = static_cast<ServerStreamSlot<Req, Resp>&>(slot_);
        Dispatch([&] { slot.Invoke(ServerStream<Req, Resp>(this)); });
      }
    }
    Unref();  // the request tag
  }

  grpc::ByteBuffer request_bytes_;
  Req request_;
  grpc::ServerAsyncWriter<grpc::ByteBuffer> stream_;
  Writer writer_;
  runtime::CompletionTag request_tag_{
      &runtime::OnTag<ServerStreamCallData, &ServerStreamCallData::OnRequest>, this};
};

template <class Req, class Resp>
void ServerStreamSlot<Req, Resp>::PostOne() {
  new ServerStreamCallData<Req, Resp>(*this);
}

// The handler's handle to a server-streaming call.
template <class Req, class Resp>
class ServerStream {
 public:
  explicit ServerStream(ServerStreamCallData<Req, Resp>* data) : ref_(data) {}

  const Req& request() const { return ref_->request(); }
  grpc::ServerContext& context() const { return ref_->context(); }
  runtime::Shard& shard() const { return ref_->shard(); }
  bool cancelled() const { return ref_->cancelled(); }
  void OnCancel(std::function<void()> fn) const { ref_->OnCancel(std::move(fn)); }

  // False when the queue is full (the message is not taken; OnWritable tells when to resume)
  // or the stream is finishing or broken.
  bool Write(const Resp& message) const {
    return ref_->writer().Write(Codec<Resp>::Serialize(message));
  }
  bool WriteRaw(grpc::ByteBuffer message) const { return ref_->writer().Write(std::move(message)); }
  bool writable() const { return ref_->writer().writable(); }
  void OnWritable(std::function<void()> fn) const { ref_->writer().OnWritable(std::move(fn)); }
  void SendInitialMetadata() const { ref_->writer().SendInitialMetadata(); }
  // Ends the stream after every queued message. False if already finishing.
  bool Finish(const grpc::Status& status) const { return ref_->writer().Finish(status); }
  bool Finish(const Status& status) const { return Finish(ToGrpcStatus(status)); }
  // Ends the stream now: queued messages not yet sent are dropped (not the one in flight).
  bool FinishNow(const grpc::Status& status) const { return ref_->writer().Finish(status, true); }
  bool FinishNow(const Status& status) const { return FinishNow(ToGrpcStatus(status)); }

 private:
  CallRef<ServerStreamCallData<Req, Resp>> ref_;
};

}  // namespace percore::rpc
