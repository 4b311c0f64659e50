#pragma once
// Threading contract: a call object lives on the shard that gRPC delivered it to; every member
// is used only on that shard's thread. Handles (UnaryCall, ServerStream, ...) may be moved
// anywhere but copied and destroyed only on that shard (Runtime::Hop keeps them there).
//
// The libgrpc side of a call, shared by every shape's call data (grpc_*_call.h): the
// grpc::ServerContext, the done tag, admission and the idle-stream watch. The lifetime rule is
// CallCore's (call_core.h): here the transport's references are one per outstanding
// completion-queue tag (request, read, write, finish, done), so the object is freed exactly
// once on every path, `ok == false` included, whatever order gRPC delivers the tags in (the done
// tag may come first, gRPC issue 36065).

#include <grpcpp/server_context.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/rpc/call_core.h"
#include "core/rpc/codec.h"
#include "core/rpc/grpc_status.h"
#include "core/rpc/idle_streams.h"
#include "core/rpc/method_slot.h"
#include "core/runtime/completion_tag.h"

namespace percore::rpc {

class ShardAdmission;

class CallBase : public CallCore, public IdleEndable {
 public:
  explicit CallBase(MethodSlot& slot);
  ~CallBase() override;

  std::optional<std::string_view> metadata(std::string_view key) override;
  bool metadata_repeated(std::string_view key) override {
    return context_.client_metadata().count(grpc::string_ref(key.data(), key.size())) > 1;
  }
  std::optional<std::string_view> metadata_single(std::string_view key, bool* repeated) override;
  std::chrono::system_clock::time_point deadline() const override { return context_.deadline(); }
  std::string peer() const override { return context_.peer(); }
  void AddInitialMetadata(const std::string& key, const std::string& value) override {
    context_.AddInitialMetadata(key, value);
  }
  void AddTrailingMetadata(const std::string& key, const std::string& value) override {
    context_.AddTrailingMetadata(key, value);
  }
  std::string method_name() const override { return slot_.method_name(); }
  bool via_health_listener() const override;
  std::string peer_certificate_name() const override;

  // RESOURCE_EXHAUSTED for a message over the limit (true: the call is being ended). With
  // `tell_handler` (a message on a stream, the handler already running), the handler hears
  // OnCancel at the call's end, as after RefuseMessage.
  bool RejectOversized(const grpc::ByteBuffer& message, bool tell_handler = false);
  // A client message on a stream that does not parse: the call is answered `status`, and at its
  // end the handler hears OnCancel (it waits for messages or a half-close that will not come;
  // without it, a handler that keeps its stream until then would keep it for ever). The native
  // transport's ByteCallBase::RefuseMessage does the same.
  void RefuseMessage(const Status& status) {
    ended_by_server_ = true;
    FinishWithStatus(status);
  }

  // Idle-stream watch (idle_streams.h) for calls that wait for the client's messages: the
  // reader watches when reading starts and unwatches when the client half-closes; every message
  // read or written touches. No-ops when --stream-idle-timeout is off.
  void WatchIdle();
  void TouchIdle();
  void UnwatchIdle();
  // The sweeper's verdict: ends the call with DEADLINE_EXCEEDED (or cancels it when a write is
  // stuck behind a client that does not read). The handler sees it as a cancellation (OnCancel
  // runs), since it did not end the call itself.
  void EndIdle(std::chrono::milliseconds timeout) override;

 protected:
  // Call from the request tag's ok path: re-posts the method, counts the call and takes the done
  // tag's reference. False when the call was refused (draining, overloaded): it is answered.
  bool BeginCall();
  // The request tag of a shape whose request carries one message: admits the call, checks and
  // parses the message, then hands the call to its method (MethodEntry::Invoke runs the
  // handler). Drops the request tag's reference.
  template <class Req, class Ops>
  void OnRequestMessage(bool ok, grpc::ByteBuffer& bytes, Req& request, Ops* ops);
  // The request tag of a shape that reads the client's messages: hands the call to its method,
  // then `start`s reading. Drops the request tag's reference.
  template <class Ops, class Start>
  void OnRequestStream(bool ok, Ops* ops, Start&& start);
  // Ends the call now with `status`, dropping queued messages (streams override).
  virtual void EndNow(const Status& status) { FinishWithStatus(status); }
  // True while a write (or the status) is handed to gRPC and not yet completed.
  virtual bool write_in_flight() const { return false; }

  MethodSlot& slot_;
  grpc::ServerContext context_;
  runtime::CompletionTag done_tag_;

 private:
  void OnDone(bool ok);

  bool started_ = false;
  bool ended_by_server_ = false;  // EndIdle, RefuseMessage: the handler is told as for a cancel
  ShardAdmission* admission_ = nullptr;  // set once admitted: the peer's count is released
  std::string peer_;
  IdleLink idle_link_;
};

template <class Req, class Ops>
void CallBase::OnRequestMessage(bool ok, grpc::ByteBuffer& bytes, Req& request, Ops* ops) {
  if (ok && BeginCall() && !RejectOversized(bytes)) {
    if (!Codec<Req>::Parse(&bytes, &request)) {
      FinishWithStatus(
          Status(StatusCode::kInvalidArgument, "request is not a valid " + Codec<Req>::TypeName()));
    } else {
      slot_.entry().Invoke(*this, ops);
    }
  }
  Unref();  // the request tag
}

template <class Ops, class Start>
void CallBase::OnRequestStream(bool ok, Ops* ops, Start&& start) {
  if (ok && BeginCall()) {
    slot_.entry().Invoke(*this, ops);
    start();
  }
  Unref();  // the request tag
}

}  // namespace percore::rpc
