#pragma once
// Threading contract: a ByteCallBase lives on the shard its transport delivered the call to and
// is used only on that shard's thread (call_core.h).
//
// The shape-independent half of a typed call over a ByteCall (byte_call.h): CallCore's faces
// forwarded to the bytes, admission (draining, call caps, fairness, queue-delay shedding: the
// same ShardAdmission as libgrpc's calls), the single answer of unary and client-streaming
// calls, the bounded write queue of streams, and reads delivered one at a time. The typed
// classes of byte_calls.h add parsing and serialization for the method's messages.
//
// Lifetime (CallCore's rule): one reference for the delivery (dropped by Start once the handler
// was started or the call refused), one for the transport until the ByteCall's OnDone, one per
// handle, one per deferred task. The call holds a reference on its ByteCall for its whole life.
// It counts on the shard (CallStarted/CallEnded, so drain waits for it) and in the shard's
// LiveCallObjects (ServerHost::live_call_objects, so tests prove it is freed).

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/rpc/byte_call.h"
#include "core/rpc/call_core.h"
#include "core/rpc/call_limits.h"
#include "core/rpc/idle_streams.h"
#include "core/rpc/method_table.h"

namespace percore::rpc {

class ShardAdmission;
struct LiveCallObjects;

class ByteCallBase : public CallCore, public ByteCallSink, public IdleEndable {
 public:
  ByteCallBase(runtime::Shard& shard, ByteCall& bytes, const MethodEntry& entry,
               const CallLimits& limits, bool single_response, bool reads);
  ~ByteCallBase() override;

  // CallCore.
  std::optional<std::string_view> metadata(std::string_view key) override {
    return bytes_.metadata(key);
  }
  bool metadata_repeated(std::string_view key) override { return bytes_.metadata_repeated(key); }
  std::optional<std::string_view> metadata_single(std::string_view key, bool* repeated) override {
    return bytes_.metadata_single(key, repeated);
  }
  std::chrono::system_clock::time_point deadline() const override { return bytes_.deadline(); }
  std::string peer() const override { return std::string(bytes_.peer()); }
  std::string peer_certificate_name() const override {
    return std::string(bytes_.peer_certificate_name());
  }
  void AddInitialMetadata(const std::string& key, const std::string& value) override;
  void AddTrailingMetadata(const std::string& key, const std::string& value) override;
  void FinishWithStatus(const Status& status) override;
  bool finish_requested() const override { return finish_requested_; }
  std::string method_name() const override { return entry_.descriptor()->name(); }

  // ByteCallSink (the transport's events).
  void OnBytes(std::string_view message) override;
  void OnHalfClose() override;
  void OnCancel() override;
  void OnWritable() override;
  void OnDone() override;

  // IdleEndable (idle_streams.h): --stream-idle-timeout for the shapes that read the client's
  // messages, watched from the handler's start to the client's half-close; every message read
  // and every write the transport took touches. Ended as libgrpc's calls are: DEADLINE_EXCEEDED,
  // or a reset when the answer is stuck behind unread messages; the handler sees a cancel.
  void EndIdle(std::chrono::milliseconds timeout) override;

 public:  // for the typed halves (byte_calls.h)
  // Admits the call; false when it was refused (answered already). Then, for shapes that read,
  // runs the handler at once; shapes with one request run it at the first message (OnRequest).
  bool Admit();
  // After construction: admits the call, runs the handler of a reading shape (`ops`: the call's
  // shape interface), and drops the delivery reference.
  void Begin(void* ops) {
    if (Admit() && reads_) {
      Invoke(ops);
      WatchIdle();
    }
    Unref();
  }
  // The shape's one request message arrived (unary, server streaming): parse and run.
  virtual void OnRequest(std::string_view message) = 0;
  // Each client message of a reading shape: parse and hand to the handler's OnRead.
  virtual void OnReadBytes(std::string_view message) = 0;
  void Invoke(void* ops) { entry_.Invoke(*this, ops); }
  // The transport's message codec (byte_call.h), nullptr for protobuf's binary form.
  const MessageCodec* codec() const { return codec_; }

  // Single answer (unary, client streaming). An OK status answers the default message.
  bool Answer(std::string_view bytes);
  bool FinishSingle(const Status& status);
  // Streams (server streaming, bidi).
  bool WriteBytes(std::string_view bytes);
  bool can_write() const { return !finish_requested_ && !over_ && bytes_.writable(); }
  void SetOnWritable(std::function<void()> fn);
  void SendInitialMetadataNow() { bytes_.SendInitialMetadata(); }
  bool FinishStream(const Status& status);
  // Reads (client streaming, bidi).
  void SetOnReadsDone(std::function<void()> fn) {
    if (!over_) on_reads_done_ = std::move(fn);
  }
  void PauseReading() {
    paused_ = true;
    bytes_.Pause();
  }
  void ResumeReading();  // deferred to a task: the handler is not re-entered from its own call
  bool reading_over() const { return reads_done_; }
  // A client message that does not parse: the call is answered `status`, and at its end the
  // handler hears OnCancel (it waits for messages or a half-close that will not come; without
  // it, a handler that keeps its stream until then would keep it for ever).
  void RefuseMessage(const Status& status) {
    ended_by_server_ = true;
    FinishWithStatus(status);
  }
  bool reading_stopped() const { return finish_requested_ || over_; }

 protected:
  void ClearCallbacks() override;
  void WatchIdle();
  void TouchIdle() {
    if (idle_link_.linked) TouchLinked();
  }
  void UnwatchIdle();

  ByteCall& bytes_;
  const MethodEntry& entry_;
  const MessageCodec* const codec_;

 private:
  const CallLimits& limits_;
  const bool single_response_;
  const bool reads_;  // client streaming, bidi: every message goes to OnReadBytes
  bool finish_requested_ = false;
  bool over_ = false;          // the transport is done (OnCancel or OnDone)
  bool request_seen_ = false;  // single-request shapes: the message arrived
  bool want_writable_ = false;
  bool reads_done_ = false;
  bool resume_scheduled_ = false;
  bool paused_ = false;  // the handler's last word: a resume task finding it paused again waits
  bool ended_by_server_ = false;         // EndIdle: the handler is told as for a cancel
  ShardAdmission* admission_ = nullptr;  // set once admitted: the peer's count is released
  std::string peer_;
  LiveCallObjects& live_;
  std::function<void()> on_writable_;
  std::function<void()> on_reads_done_;
  IdleLink idle_link_;

  void TouchLinked();
};

}  // namespace percore::rpc
