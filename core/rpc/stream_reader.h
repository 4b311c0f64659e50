#pragma once
// Threading contract: a member of one call object; used only on that call's shard.
//
// The read side of a client-streaming or bidi call: one Read in flight at a time (a gRPC rule).
// Each message is parsed and handed to the handler's OnRead callback; the next Read starts when
// the callback returns, unless the handler paused reading (its own backpressure, for example
// while its write queue is full). A failed Read means the client half-closed (or the call
// ended): OnReadsDone runs once. Reading stops once the call is finishing. A message that is
// oversized or does not parse ends the call, and the handler hears OnCancel at its end.

#include <grpcpp/support/byte_buffer.h>

#include <functional>
#include <utility>

#include "core/rpc/call_base.h"
#include "core/rpc/call_ops.h"
#include "core/rpc/codec.h"
#include "core/runtime/completion_tag.h"

namespace percore::rpc {

template <class Stream, class Req>
class StreamReader {
 public:
  StreamReader(CallBase& call, Stream& stream) : call_(call), stream_(stream) {}

  // Ignored once the call is over (they could never run, and would keep what they hold).
  void OnRead(std::function<void(Req&&)> fn) {
    if (!cleared_) on_read_ = std::move(fn);
  }
  void OnReadsDone(std::function<void()> fn) {
    if (!cleared_) on_reads_done_ = std::move(fn);
  }
  void Pause() { paused_ = true; }
  void Resume() {
    paused_ = false;
    ReadNext();
  }
  bool reads_done() const { return reads_done_; }

  // Called once the handler's start function has returned.
  void Start() {
    started_ = true;
    call_.WatchIdle();  // the server now waits for the client's messages
    ReadNext();
  }

  void ClearCallbacks() {
    cleared_ = true;
    auto read = std::exchange(on_read_, nullptr);
    auto done = std::exchange(on_reads_done_, nullptr);
  }

 private:
  void ReadNext() {
    if (!started_ || paused_ || in_flight_ || reads_done_ || call_.finish_requested() ||
        !call_.shard().cq_open()) {
      return;
    }
    in_flight_ = true;
    call_.Ref();
    stream_.Read(&bytes_, &read_tag_);
  }

  void OnReadDone(bool ok) {
    in_flight_ = false;
    if (!ok) {
      reads_done_ = true;
      call_.UnwatchIdle();  // half-closed: from now on the client waits for the server
      if (on_reads_done_) {
        auto fn = std::exchange(on_reads_done_, nullptr);
        fn();
      }
    } else {
      call_.TouchIdle();
      Req message;
      if (call_.RejectOversized(bytes_, /*tell_handler=*/true)) {
        // ended with RESOURCE_EXHAUSTED; no more reads
      } else if (!Codec<Req>::Parse(&bytes_, &message)) {
        call_.RefuseMessage(Status(StatusCode::kInvalidArgument,
                                   "message is not a valid " + Codec<Req>::TypeName()));
      } else {
        if (on_read_) on_read_(std::move(message));
        ReadNext();
      }
    }
    call_.Unref();
  }

  CallBase& call_;
  Stream& stream_;
  grpc::ByteBuffer bytes_;
  std::function<void(Req&&)> on_read_;
  std::function<void()> on_reads_done_;
  bool started_ = false;
  bool paused_ = false;
  bool in_flight_ = false;
  bool reads_done_ = false;
  bool cleared_ = false;
  runtime::CompletionTag read_tag_{&runtime::OnTag<StreamReader, &StreamReader::OnReadDone>, this};
};

// ReadOps (call_ops.h) for libgrpc call data (Data) whose reader() is a StreamReader.
template <class Data, class Base, class Req>
class ReadsThroughReader : public Base {
 public:
  void OnRead(std::function<void(Req&&)> fn) override { reader().OnRead(std::move(fn)); }
  void OnReadsDone(std::function<void()> fn) override { reader().OnReadsDone(std::move(fn)); }
  void PauseReads() override { reader().Pause(); }
  void ResumeReads() override { reader().Resume(); }
  bool reads_done() const override { return static_cast<const Data*>(this)->reader().reads_done(); }

 private:
  auto& reader() { return static_cast<Data*>(this)->reader(); }
};

}  // namespace percore::rpc
