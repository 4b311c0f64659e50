#pragma once
// Threading contract: see call_base.h; on the call's shard.
//
// libgrpc's bidi call data, implementing BidiStreamOps (call_ops.h) for the BidiStream handle.
// One Read and one Write may be in flight at once (gRPC allows that pair), each side with its
// own rules (stream_reader.h, stream_writer.h):
//   posted --request ok--> handler runs --> reading and writing independently --Finish()-->
//   finishing after queued writes --finish tag--> (freed when done tag and handles gone)

#include <grpcpp/support/async_stream.h>

#include "core/rpc/call_ops.h"
#include "core/rpc/stream_reader.h"
#include "core/rpc/stream_writer.h"
#include "core/rpc/typed_slot.h"

namespace percore::rpc {

template <class Req, class Resp>
class BidiStreamCallData;

// The shape interface with its read side implemented over the StreamReader.
template <class Req, class Resp>
using BidiReadOps =
    ReadsThroughReader<BidiStreamCallData<Req, Resp>, BidiStreamOps<Req, Resp>, Req>;

template <class Req, class Resp>
class BidiStreamCallData final
    : public CallBase,
      public WritesThroughWriter<BidiStreamCallData<Req, Resp>, BidiReadOps<Req, Resp>, Resp> {
 public:
  using Ops = BidiStreamOps<Req, Resp>;
  using Stream = grpc::ServerAsyncReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>;

  explicit BidiStreamCallData(MethodSlot& slot)
      : CallBase(slot),
        stream_(&context_),
        reader_(*this, stream_),
        writer_(*this, stream_, slot.limits().stream_queue_messages) {
    slot.service().RequestBidiStreaming(slot.index(), &context_, &stream_, slot.shard().server_cq(),
                                        &request_tag_);
  }

  StreamReader<Stream, Req>& reader() { return reader_; }
  const StreamReader<Stream, Req>& reader() const { return reader_; }
  StreamWriter<Stream>& writer() { return writer_; }
  const StreamWriter<Stream>& writer() const { return writer_; }
  void FinishWithStatus(const Status& status) override { writer_.Finish(ToGrpcStatus(status)); }
  bool finish_requested() const override { return writer_.finish_requested(); }

 private:
  void ClearCallbacks() override {
    reader_.ClearCallbacks();
    writer_.ClearCallbacks();
  }
  void EndNow(const Status& status) override { writer_.Finish(ToGrpcStatus(status), true); }
  bool write_in_flight() const override { return writer_.op_in_flight(); }

  void OnRequest(bool ok) {
    OnRequestStream(ok, static_cast<Ops*>(this), [this] { reader_.Start(); });
  }

  Stream stream_;
  StreamReader<Stream, Req> reader_;
  StreamWriter<Stream> writer_;
  runtime::CompletionTag request_tag_{
      &runtime::OnTag<BidiStreamCallData, &BidiStreamCallData::OnRequest>, this};
};

}  // namespace percore::rpc
