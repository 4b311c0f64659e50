#pragma once
// Threading contract: see call_handle.h; every method on the call's shard.
//
// The handle methods that several call shapes share, written once and stacked on
// TypedCallHandle (call_handle.h) by the shapes that have them:
//   RespondMethods: the one answer of unary and client-streaming calls;
//   ReadMethods:    the client's messages of client-streaming and bidi calls;
//   WriteMethods:   the server's messages of server-streaming and bidi calls.
// Each forwards to the call's shape interface (call_ops.h: one virtual call) and takes
// percore's Status and SerializedMessage: no transport type reaches a handler. They are also
// where the metrics see what the handler answers (call_core.h): the status it finishes with,
// the messages it writes and reads, whatever the transport.

#include <functional>
#include <utility>

#include "core/base/status.h"
#include "core/rpc/call_handle.h"
#include "core/rpc/call_ops.h"
#include "core/rpc/serialized_message.h"

namespace percore::rpc {

template <class Base, class Resp>
class RespondMethods : public Base {
 public:
  using Base::Base;
  // Each returns false if the call was already answered.
  bool Finish(const Resp& response) const { return Answered(this->ops().Finish(response), {}); }
  bool Finish(const Status& status) const { return Answered(this->ops().Finish(status), status); }
  // Bytes of an already serialized Resp (kept pre-serialized, sent without a copy).
  bool FinishRaw(const SerializedMessage& response) const {
    return Answered(this->ops().FinishRaw(response), {});
  }

 private:
  bool Answered(bool taken, const Status& status) const {
    if (taken) {
      this->core_->NoteStatus(status.code());
      if (status.ok()) this->core_->NoteMessageSent();  // OK always carries the one message
    }
    return taken;
  }
};

template <class Base, class Req>
class ReadMethods : public Base {
 public:
  using Base::Base;
  // Set these in the handler; reading starts when it returns.
  void OnRead(std::function<void(Req&&)> fn) const {
    // The call owns the callback (dropped when it ends), so the raw pointer cannot dangle.
    this->ops().OnRead([core = this->core_.get(), fn = std::move(fn)](Req&& message) {
      core->NoteMessageReceived();
      fn(std::move(message));
    });
  }
  void OnReadsDone(std::function<void()> fn) const { this->ops().OnReadsDone(std::move(fn)); }
  void PauseReads() const { this->ops().PauseReads(); }
  void ResumeReads() const { this->ops().ResumeReads(); }
  bool reads_done() const { return this->ops().reads_done(); }
};

template <class Base, class Resp>
class WriteMethods : public Base {
 public:
  using Base::Base;
  // False when the queue is full (the message is not taken; OnWritable tells when to resume)
  // or the stream is finishing or broken.
  bool Write(const Resp& message) const { return Sent(this->ops().Write(message)); }
  // An already serialized Resp, sent without copying its bytes.
  bool WriteRaw(const SerializedMessage& message) const {
    return Sent(this->ops().WriteRaw(message));
  }
  bool writable() const { return this->ops().writable(); }
  void OnWritable(std::function<void()> fn) const { this->ops().OnWritable(std::move(fn)); }
  // Sends the initial metadata now, before any message. Later calls do nothing.
  void SendInitialMetadata() const { this->ops().SendInitialMetadata(); }
  // Ends the stream after every queued message. False if already finishing.
  bool Finish(const Status& status) const { return Ended(this->ops().Finish(status), status); }
  // Ends the stream now: queued messages not yet sent are dropped (not the one in flight).
  bool FinishNow(const Status& status) const {
    return Ended(this->ops().FinishNow(status), status);
  }

 private:
  bool Sent(bool taken) const {
    if (taken) this->core_->NoteMessageSent();
    return taken;
  }
  bool Ended(bool taken, const Status& status) const {
    if (taken) this->core_->NoteStatus(status.code());
    return taken;
  }
};

}  // namespace percore::rpc
