#pragma once
// Threading contract: a call object lives on the shard that gRPC delivered it to; every member
// is used only on that shard's thread. Handles (UnaryCall, ServerStream, ...) may be moved
// anywhere but copied and destroyed only on that shard (Runtime::Hop keeps them there).
//
// The lifetime rule every call shape shares: the object holds one reference per outstanding
// completion-queue tag (request, read, write, finish, done) and one per handler handle, and
// deletes itself when the count reaches zero. So it is freed exactly once, on every path,
// `ok == false` included, whatever order gRPC delivers the tags in (the done tag may come
// first, gRPC issue 36065). When the last handle goes without an answer, the call answers
// INTERNAL itself, so a buggy handler cannot leave a client waiting.

#include <grpcpp/server_context.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/rpc/codec.h"
#include "core/rpc/idle_streams.h"
#include "core/rpc/method_slot.h"
#include "core/runtime/completion_tag.h"

namespace percore::rpc {

class ShardAdmission;

class CallBase {
 public:
  explicit CallBase(MethodSlot& slot);
  virtual ~CallBase();
  CallBase(const CallBase&) = delete;
  CallBase& operator=(const CallBase&) = delete;

  runtime::Shard& shard() { return slot_.shard(); }
  // True once the client cancelled, the deadline passed or the connection dropped.
  bool cancelled() const { return cancelled_; }
  // Runs once, on this shard, when the call is cancelled (never after a normal finish).
  // Ignored once the call is over.
  void OnCancel(std::function<void()> fn) {
    if (!done_) on_cancel_ = std::move(fn);
  }

  // What any gRPC transport can tell or do for a handler (call_handle.h exposes these).
  // The first value the client sent under `key` (keys are lower-case; "-bin" ones decoded).
  std::optional<std::string_view> metadata(std::string_view key);
  std::chrono::system_clock::time_point deadline() const { return context_.deadline(); }
  std::string peer() const { return context_.peer(); }
  // Before the initial metadata goes out (the first write, SendInitialMetadata or the finish).
  void AddInitialMetadata(const std::string& key, const std::string& value) {
    context_.AddInitialMetadata(key, value);
  }
  // Before the call is finished.
  void AddTrailingMetadata(const std::string& key, const std::string& value) {
    context_.AddTrailingMetadata(key, value);
  }

  void Ref() { ++refs_; }
  void Unref() {
    if (--refs_ == 0) delete this;
  }
  void RefHandle() {
    ++handles_;
    Ref();
  }
  void UnrefHandle();
  // RESOURCE_EXHAUSTED for a message over the limit (true: the call is being ended).
  bool RejectOversized(const grpc::ByteBuffer& message);
  // The shape's way to end the call with a status and no message.
  virtual void FinishWithStatus(const grpc::Status& status) = 0;
  // True once the handler (or the framework) has started to end the call.
  virtual bool finish_requested() const = 0;

  // Idle-stream watch (idle_streams.h) for calls that wait for the client's messages: the
  // reader watches when reading starts and unwatches when the client half-closes; every message
  // read or written touches. No-ops when --stream-idle-timeout is off.
  void WatchIdle();
  void TouchIdle();
  void UnwatchIdle();
  // The sweeper's verdict: ends the call with DEADLINE_EXCEEDED (or cancels it when a write is
  // stuck behind a client that does not read). The handler sees it as a cancellation (OnCancel
  // runs), since it did not end the call itself.
  void EndIdle(std::chrono::milliseconds timeout);

 protected:
  // Call from the request tag's ok path: re-posts the method, counts the call and takes the done
  // tag's reference. False when the call was refused (draining, overloaded): it is answered.
  bool BeginCall();
  // The request tag of a shape whose request carries one message: admits the call, checks and
  // parses the message, then runs `invoke(call handle)`. Drops the request tag's reference.
  template <class Req, class Invoke>
  void OnRequestMessage(bool ok, grpc::ByteBuffer& bytes, Req& request, Invoke&& invoke);
  // The request tag of a shape that reads the client's messages: runs `invoke`, then `start`s
  // reading. Drops the request tag's reference.
  template <class Invoke, class Start>
  void OnRequestStream(bool ok, Invoke&& invoke, Start&& start);
  // Drops the handler's callbacks at the end of the call, which breaks handle cycles
  // (a callback that captured its own call's handle).
  virtual void ClearCallbacks() {}
  // Ends the call now with `status`, dropping queued messages (streams override).
  virtual void EndNow(const grpc::Status& status) { FinishWithStatus(status); }
  // True while a write (or the status) is handed to gRPC and not yet completed.
  virtual bool write_in_flight() const { return false; }
  // Runs the handler, turning an escaped exception into INTERNAL (the one catch of the
  // dispatch layer).
  template <class Fn>
  void Dispatch(Fn&& fn);
  bool done() const { return done_; }

  MethodSlot& slot_;
  grpc::ServerContext context_;
  runtime::CompletionTag done_tag_;

 private:
  void OnDone(bool ok);
  void LogException(const char* what);

  int refs_ = 1;  // the posted request's tag
  int handles_ = 0;
  bool started_ = false;
  bool done_ = false;
  bool cancelled_ = false;
  bool ended_by_server_ = false;         // EndIdle: the handler is told as for a cancel
  ShardAdmission* admission_ = nullptr;  // set once admitted: the peer's count is released
  std::string peer_;
  IdleLink idle_link_;
  std::function<void()> on_cancel_;
};

template <class Req, class Invoke>
void CallBase::OnRequestMessage(bool ok, grpc::ByteBuffer& bytes, Req& request, Invoke&& invoke) {
  if (ok && BeginCall() && !RejectOversized(bytes)) {
    if (!Codec<Req>::Parse(&bytes, &request)) {
      FinishWithStatus(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                    "request is not a valid " + Codec<Req>::TypeName()));
    } else {
      Dispatch(invoke);
    }
  }
  Unref();  // the request tag
}

template <class Invoke, class Start>
void CallBase::OnRequestStream(bool ok, Invoke&& invoke, Start&& start) {
  if (ok && BeginCall()) {
    Dispatch(invoke);
    start();
  }
  Unref();  // the request tag
}

template <class Fn>
void CallBase::Dispatch(Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    LogException(e.what());
    FinishWithStatus(grpc::Status(grpc::StatusCode::INTERNAL, "internal error"));
  } catch (...) {
    LogException("unknown exception");
    FinishWithStatus(grpc::Status(grpc::StatusCode::INTERNAL, "internal error"));
  }
}

// A counted handle to a call object of type Data.
template <class Data>
class CallRef {
 public:
  CallRef() = default;
  explicit CallRef(Data* data) : data_(data) {
    if (data_) data_->RefHandle();
  }
  CallRef(const CallRef& other) : CallRef(other.data_) {}
  CallRef(CallRef&& other) noexcept : data_(std::exchange(other.data_, nullptr)) {}
  CallRef& operator=(CallRef other) noexcept {
    std::swap(data_, other.data_);
    return *this;
  }
  ~CallRef() {
    if (data_) data_->UnrefHandle();
  }
  Data* get() const { return data_; }
  Data* operator->() const { return data_; }
  Data& operator*() const { return *data_; }
  explicit operator bool() const { return data_ != nullptr; }

 private:
  Data* data_ = nullptr;
};

}  // namespace percore::rpc
