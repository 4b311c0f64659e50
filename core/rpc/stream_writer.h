#pragma once
// Threading contract: a member of one call object; used only on that call's shard.
//
// The write side of a server-streaming or bidi call. gRPC allows one write in flight per stream
// (a second one crashes, gRPC issue 4007; Finish counts as a write), so messages wait here in a
// bounded queue of serialized bytes. While more are queued, each write carries the buffer hint,
// letting gRPC coalesce them into few HTTP/2 frames and flushes; the last message and the status
// go out as one WriteAndFinish. A full queue makes Write() return false (the message is not
// taken) and the handler's OnWritable callback runs once the queue is half empty again: that is
// the backpressure a slow reader exerts.

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>

#include <deque>
#include <functional>
#include <optional>
#include <utility>

#include "core/base/status.h"
#include "core/rpc/call_base.h"
#include "core/rpc/call_ops.h"
#include "core/rpc/codec.h"
#include "core/rpc/grpc_bytes.h"
#include "core/rpc/grpc_status.h"
#include "core/rpc/serialized_message.h"
#include "core/runtime/completion_tag.h"

namespace percore::rpc {

template <class Stream>
class StreamWriter {
 public:
  StreamWriter(CallBase& call, Stream& stream, size_t capacity)
      : call_(call), stream_(stream), capacity_(capacity) {}

  bool Write(grpc::ByteBuffer message) {
    if (!writable()) {
      if (!finish_requested_ && !broken_) want_writable_ = true;
      return false;
    }
    queue_.push_back(std::move(message));
    Pump();
    return true;
  }
  bool writable() const { return !finish_requested_ && !broken_ && queue_.size() < capacity_; }
  size_t queued() const { return queue_.size(); }
  bool op_in_flight() const { return op_in_flight_; }
  // Runs `fn` once the queue is half empty again after it was full (arms itself if the queue
  // is full now).
  void OnWritable(std::function<void()> fn) {
    // A stream that can never take a message again would keep the callback (and whatever it
    // holds, often this very call) forever: drop it instead.
    if (finish_requested_ || broken_ || callbacks_cleared_) return;
    on_writable_ = std::move(fn);
    if (!finish_requested_ && !broken_ && queue_.size() >= capacity_) want_writable_ = true;
  }

  // Sends the initial metadata now (before any message), for example to tell a watcher it is
  // registered. Later calls do nothing.
  void SendInitialMetadata() {
    // A message already queued or sent carries the initial metadata with it (gRPC asserts on
    // sending it twice).
    if (metadata_requested_ || metadata_sent_ || !queue_.empty()) return;
    metadata_requested_ = true;
    Pump();
  }

  // Ends the stream after the queued messages. False if already finishing.
  // With `drop_queued`, messages not yet handed to gRPC are discarded, so the status goes out
  // right after the write in flight (a reader that fell behind learns at once why it ends).
  bool Finish(const grpc::Status& status, bool drop_queued = false) {
    if (finish_requested_) return false;
    if (drop_queued) queue_.clear();
    finish_requested_ = true;
    status_ = status;
    Pump();
    return true;
  }
  bool finish_requested() const { return finish_requested_; }

  void ClearCallbacks() {
    callbacks_cleared_ = true;
    auto dropped = std::exchange(on_writable_, nullptr);
  }

 private:
  void Pump() {
    if (op_in_flight_ || finish_started_ || !call_.shard().cq_open()) return;
    if (metadata_requested_ && !metadata_sent_) {
      StartOp();
      stream_.SendInitialMetadata(&write_tag_);
      return;
    }
    if (!queue_.empty()) {
      grpc::ByteBuffer message = std::move(queue_.front());
      queue_.pop_front();
      if (queue_.empty() && finish_requested_) {
        finish_started_ = true;
        StartOp();
        stream_.WriteAndFinish(message, grpc::WriteOptions(), status_, &finish_tag_);
        return;
      }
      grpc::WriteOptions options;
      if (!queue_.empty()) options.set_buffer_hint();  // more follow at once: let gRPC coalesce
      StartOp();
      stream_.Write(message, options, &write_tag_);
      return;
    }
    if (finish_requested_) {
      finish_started_ = true;
      StartOp();
      stream_.Finish(status_, &finish_tag_);
    }
  }

  void StartOp() {
    op_in_flight_ = true;
    metadata_sent_ = true;  // every operation sends the initial metadata if it has not gone yet
    call_.Ref();
  }

  void OnWriteDone(bool ok) {
    op_in_flight_ = false;
    if (ok) call_.TouchIdle();
    if (!ok) {  // the stream is gone (cancelled, disconnected): nothing more can be written
      broken_ = true;
      queue_.clear();
      want_writable_ = false;
      auto dropped = std::exchange(on_writable_, nullptr);
    }
    Pump();
    if (want_writable_ && writable() && queue_.size() <= capacity_ / 2) {
      want_writable_ = false;
      if (on_writable_) on_writable_();
    }
    call_.Unref();
  }
  void OnFinishDone(bool /*ok*/) {
    op_in_flight_ = false;
    call_.Unref();
  }

  CallBase& call_;
  Stream& stream_;
  const size_t capacity_;
  std::deque<grpc::ByteBuffer> queue_;
  grpc::Status status_;
  std::function<void()> on_writable_;
  bool op_in_flight_ = false;
  bool metadata_requested_ = false;
  bool metadata_sent_ = false;
  bool finish_requested_ = false;
  bool finish_started_ = false;
  bool broken_ = false;
  bool want_writable_ = false;
  bool callbacks_cleared_ = false;  // the call is over: no callback may be stored again
  runtime::CompletionTag write_tag_{&runtime::OnTag<StreamWriter, &StreamWriter::OnWriteDone>,
                                    this};
  runtime::CompletionTag finish_tag_{&runtime::OnTag<StreamWriter, &StreamWriter::OnFinishDone>,
                                     this};
};

// WriteOps (call_ops.h) for libgrpc call data (Data) whose writer() is a StreamWriter.
template <class Data, class Base, class Resp>
class WritesThroughWriter : public Base {
 public:
  bool Write(const Resp& message) override {
    return writer().Write(Codec<Resp>::Serialize(message));
  }
  bool WriteRaw(const SerializedMessage& message) override {
    return writer().Write(ToByteBuffer(message));
  }
  bool writable() const override { return static_cast<const Data*>(this)->writer().writable(); }
  void OnWritable(std::function<void()> fn) override { writer().OnWritable(std::move(fn)); }
  void SendInitialMetadata() override { writer().SendInitialMetadata(); }
  bool Finish(const Status& status) override { return writer().Finish(ToGrpcStatus(status)); }
  bool FinishNow(const Status& status) override {
    return writer().Finish(ToGrpcStatus(status), true);
  }

 private:
  auto& writer() { return static_cast<Data*>(this)->writer(); }
};

}  // namespace percore::rpc
