#pragma once
// Threading contract: see call_base.h; every ClientStream method on the call's shard.
//
// Client streaming: the handler is called when the call arrives, sets OnRead/OnReadsDone, and
// answers once with Finish(response) or Finish(status), usually from OnReadsDone:
//   posted --request ok--> handler runs --> reading (OnRead per message) --half-close-->
//   OnReadsDone --Finish()--> finishing --finish tag--> (freed when done tag and handles gone)

#include <grpcpp/support/async_stream.h>

#include "core/rpc/call_base.h"
#include "core/rpc/codec.h"
#include "core/rpc/grpc_status.h"
#include "core/rpc/stream_reader.h"

namespace percore::rpc {

template <class Req, class Resp>
class ClientStream;

template <class Req, class Resp>
class ClientStreamSlot : public MethodSlot {
 public:
  using MethodSlot::MethodSlot;
  void PostOne() override;
  virtual void Invoke(ClientStream<Req, Resp> call) = 0;
};

template <class Req, class Resp>
class ClientStreamCallData final : public CallBase {
 public:
  using Stream = grpc::ServerAsyncReader<grpc::ByteBuffer, grpc::ByteBuffer>;
  using Reader = StreamReader<Stream, Req>;

  explicit ClientStreamCallData(ClientStreamSlot<Req, Resp>& slot)
      : CallBase(slot), stream_(&context_), reader_(*this, stream_) {
    slot.service().RequestClientStreaming(slot.index(), &context_, &stream_,
                                          slot.shard().server_cq(), &request_tag_);
  }

  Reader& reader() { return reader_; }

  bool Finish(const Resp& response) { return FinishRaw(Codec<Resp>::Serialize(response)); }
  bool FinishRaw(const grpc::ByteBuffer& response) {
    if (!StartFinish()) return false;
    stream_.Finish(response, grpc::Status::OK, &finish_tag_);
    return true;
  }
  bool Finish(const grpc::Status& status) {
    if (status.ok()) return Finish(Resp());
    if (!StartFinish()) return false;
    stream_.FinishWithError(status, &finish_tag_);
    return true;
  }
  void FinishWithStatus(const grpc::Status& status) override { Finish(status); }
  bool finish_requested() const override { return finish_requested_; }

 private:
  void ClearCallbacks() override { reader_.ClearCallbacks(); }
  bool write_in_flight() const override { return finish_requested_; }

  bool StartFinish() {
    if (finish_requested_) return false;
    finish_requested_ = true;
    if (!shard().cq_open()) return false;
    Ref();
    return true;
  }

  void OnRequest(bool ok) {
    if (ok && BeginCall()) {
      auto& slot = static_cast<ClientStreamSlot<Req, Resp>&>(slot_);
      Dispatch([&] { slot.Invoke(ClientStream<Req, Resp>(this)); });
      reader_.Start();
    }
    Unref();  // the request tag
  }
  void OnFinished(bool /*ok*/) { Unref(); }

  Stream stream_;
  Reader reader_;
  bool finish_requested_ = false;
  runtime::CompletionTag request_tag_{
      &runtime::OnTag<ClientStreamCallData, &ClientStreamCallData::OnRequest>, this};
  runtime::CompletionTag finish_tag_{
      &runtime::OnTag<ClientStreamCallData, &ClientStreamCallData::OnFinished>, this};
};

template <class Req, class Resp>
void ClientStreamSlot<Req, Resp>::PostOne() {
  new ClientStreamCallData<Req, Resp>(*this);
}

// The handler's handle to a client-streaming call.
template <class Req, class Resp>
class ClientStream {
 public:
  explicit ClientStream(ClientStreamCallData<Req, Resp>* data) : ref_(data) {}

  grpc::ServerContext& context() const { return ref_->context(); }
  runtime::Shard& shard() const { return ref_->shard(); }
  bool cancelled() const { return ref_->cancelled(); }
  void OnCancel(std::function<void()> fn) const { ref_->OnCancel(std::move(fn)); }

  // Set these in the handler; reading starts when it returns.
  void OnRead(std::function<void(Req&&)> fn) const { ref_->reader().OnRead(std::move(fn)); }
  void OnReadsDone(std::function<void()> fn) const { ref_->reader().OnReadsDone(std::move(fn)); }
  void PauseReads() const { ref_->reader().Pause(); }
  void ResumeReads() const { ref_->reader().Resume(); }

  bool Finish(const Resp& response) const { return ref_->Finish(response); }
  bool Finish(const grpc::Status& status) const { return ref_->Finish(status); }
  bool Finish(const Status& status) const { return ref_->Finish(ToGrpcStatus(status)); }
  bool FinishRaw(const grpc::ByteBuffer& response) const { return ref_->FinishRaw(response); }

 private:
  CallRef<ClientStreamCallData<Req, Resp>> ref_;
};

}  // namespace percore::rpc
