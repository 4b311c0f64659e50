#pragma once
// Threading contract: see call_base.h; every BidiStream method on the call's shard.
//
// Bidirectional streaming: one Read and one Write may be in flight at once (gRPC allows that
// pair), each side with its own rules (stream_reader.h, stream_writer.h):
//   posted --request ok--> handler runs --> reading and writing independently --Finish()-->
//   finishing after queued writes --finish tag--> (freed when done tag and handles gone)

#include <grpcpp/support/async_stream.h>

#include "core/rpc/call_base.h"
#include "core/rpc/codec.h"
#include "core/rpc/grpc_status.h"
#include "core/rpc/stream_reader.h"
#include "core/rpc/stream_writer.h"

namespace percore::rpc {

template <class Req, class Resp>
class BidiStream;

template <class Req, class Resp>
class BidiStreamSlot : public MethodSlot {
 public:
  using MethodSlot::MethodSlot;
  void PostOne() override;
  virtual void Invoke(BidiStream<Req, Resp> call) = 0;
};

template <class Req, class Resp>
class BidiStreamCallData final : public CallBase {
 public:
  using Stream = grpc::ServerAsyncReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>;
  using Reader = StreamReader<Stream, Req>;
  using Writer = StreamWriter<Stream>;

  explicit BidiStreamCallData(BidiStreamSlot<Req, Resp>& slot)
      : CallBase(slot),
        stream_(&context_),
        reader_(*this, stream_),
        writer_(*this, stream_, slot.limits().stream_queue_messages) {
    slot.service().RequestBidiStreaming(slot.index(), &context_, &stream_, slot.shard().server_cq(),
                                        &request_tag_);
  }

  Reader& reader() { return reader_; }
  Writer& writer() { return writer_; }
  void FinishWithStatus(const grpc::Status& status) override { writer_.Finish(status); }
  bool finish_requested() const override { return writer_.finish_requested(); }

 private:
  void ClearCallbacks() override {
    reader_.ClearCallbacks();
    writer_.ClearCallbacks();
  }
  void EndNow(const grpc::Status& status) override { writer_.Finish(status, true); }
  bool write_in_flight() const override { return writer_.op_in_flight(); }

  void OnRequest(bool ok) {
    if (ok && BeginCall()) {
      auto& slot = static_cast<BidiStreamSlot<Req, Resp>&>(slot_);
      Dispatch([&] { slot.Invoke(BidiStream<Req, Resp>(this)); });
      reader_.Start();
    }
    Unref();  // the request tag
  }

  Stream stream_;
  Reader reader_;
  Writer writer_;
  runtime::CompletionTag request_tag_{
      &runtime::OnTag<BidiStreamCallData, &BidiStreamCallData::OnRequest>, this};
};

template <class Req, class Resp>
void BidiStreamSlot<Req, Resp>::PostOne() {
  new BidiStreamCallData<Req, Resp>(*this);
}

// The handler's handle to a bidi call.
template <class Req, class Resp>
class BidiStream {
 public:
  explicit BidiStream(BidiStreamCallData<Req, Resp>* data) : ref_(data) {}

  grpc::ServerContext& context() const { return ref_->context(); }
  runtime::Shard& shard() const { return ref_->shard(); }
  bool cancelled() const { return ref_->cancelled(); }
  void OnCancel(std::function<void()> fn) const { ref_->OnCancel(std::move(fn)); }

  void OnRead(std::function<void(Req&&)> fn) const { ref_->reader().OnRead(std::move(fn)); }
  void OnReadsDone(std::function<void()> fn) const { ref_->reader().OnReadsDone(std::move(fn)); }
  void PauseReads() const { ref_->reader().Pause(); }
  void ResumeReads() const { ref_->reader().Resume(); }
  bool reads_done() const { return ref_->reader().reads_done(); }

  bool Write(const Resp& message) const {
    return ref_->writer().Write(Codec<Resp>::Serialize(message));
  }
  bool WriteRaw(grpc::ByteBuffer message) const { return ref_->writer().Write(std::move(message)); }
  bool writable() const { return ref_->writer().writable(); }
  void OnWritable(std::function<void()> fn) const { ref_->writer().OnWritable(std::move(fn)); }
  void SendInitialMetadata() const { ref_->writer().SendInitialMetadata(); }
  bool Finish(const grpc::Status& status) const { return ref_->writer().Finish(status); }
  bool Finish(const Status& status) const { return Finish(ToGrpcStatus(status)); }

 private:
  CallRef<BidiStreamCallData<Req, Resp>> ref_;
};

}  // namespace percore::rpc
