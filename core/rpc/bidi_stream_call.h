#pragma once
// Threading contract: see call_base.h; every BidiStream method on the call's shard.
//
// Bidirectional streaming: one Read and one Write may be in flight at once (gRPC allows that
// pair), each side with its own rules (stream_reader.h, stream_writer.h):
//   posted --request ok--> handler runs --> reading and writing independently --Finish()-->
//   finishing after queued writes --finish tag--> (freed when done tag and handles gone)

#include <grpcpp/support/async_stream.h>

#include "core/rpc/handle_methods.h"
#include "core/rpc/stream_reader.h"
#include "core/rpc/stream_writer.h"
#include "core/rpc/typed_slot.h"

namespace percore::rpc {

template <class Req, class Resp>
class BidiStreamCallData final : public CallBase {
 public:
  using Stream = grpc::ServerAsyncReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>;

  explicit BidiStreamCallData(TypedSlot<BidiStream<Req, Resp>>& slot)
      : CallBase(slot),
        stream_(&context_),
        reader_(*this, stream_),
        writer_(*this, stream_, slot.limits().stream_queue_messages) {
    slot.service().RequestBidiStreaming(slot.index(), &context_, &stream_, slot.shard().server_cq(),
                                        &request_tag_);
  }

  StreamReader<Stream, Req>& reader() { return reader_; }
  StreamWriter<Stream>& writer() { return writer_; }
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
    OnRequestStream(
        ok,
        [this] {
          static_cast<TypedSlot<BidiStream<Req, Resp>>&>(slot_).Invoke(BidiStream<Req, Resp>(this));
        },
        [this] { reader_.Start(); });
  }

  Stream stream_;
  StreamReader<Stream, Req> reader_;
  StreamWriter<Stream> writer_;
  runtime::CompletionTag request_tag_{
      &runtime::OnTag<BidiStreamCallData, &BidiStreamCallData::OnRequest>, this};
};

// The handler's handle to a bidi call.
template <class Req, class Resp>
class BidiStream final
    : public WriteMethods<ReadMethods<TypedCallHandle<BidiStreamCallData<Req, Resp>>, Req>, Resp> {
 public:
  using BidiStream::WriteMethods::WriteMethods;
};

}  // namespace percore::rpc
