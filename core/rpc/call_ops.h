#pragma once
// Threading contract: implemented by a transport's call object and called only on that call's
// shard (call_core.h).
//
// The shape interfaces: what a handle (UnaryCall, ServerStream, ClientStream, BidiStream) asks
// of the call it holds, in percore's types only (Status, SerializedMessage and the method's
// protobuf messages), so any transport can implement them: libgrpc's call data (grpc_*_call.h)
// does, and so does percore's own transport or an in-process one. An implementation also
// derives from CallCore (the handle keeps both faces of one object). The pieces:
//   RequestOps: the one request message (unary and server-streaming calls);
//   RespondOps: the one answer (unary and client-streaming calls);
//   ReadOps:    the client's messages (client-streaming and bidi calls): OnRead runs per message
//               on the shard, OnReadsDone once when the client half-closes; reading starts when
//               the handler returns and stops once the call is finishing;
//   WriteOps:   the server's messages (server-streaming and bidi calls): a bounded queue, Write
//               false when full (the message is not taken) and OnWritable once it has room;
//               Finish after the queued messages, FinishNow dropping those not yet sent.
// They are stacked as one chain per shape (one vtable; each handle operation is one virtual
// call).

#include <functional>

#include "core/base/status.h"
#include "core/rpc/serialized_message.h"

namespace percore::rpc {

class OpsRoot {
 protected:
  ~OpsRoot() = default;  // never deleted through the interface: the call frees itself
};

template <class Base, class Req>
class RequestOps : public Base {
 public:
  virtual const Req& request() const = 0;
};

// The request as a call object of a unary or server-streaming shape keeps it, whatever the
// transport: parsed into request_ before the handler runs.
template <class Base, class Req>
class HoldsRequest : public Base {
 public:
  const Req& request() const override { return request_; }

 protected:
  Req request_;
};

template <class Base, class Resp>
class RespondOps : public Base {
 public:
  // Each returns false if the call was already answered.
  virtual bool Finish(const Resp& response) = 0;
  virtual bool FinishRaw(const SerializedMessage& response) = 0;
  virtual bool Finish(const Status& status) = 0;
};

template <class Base, class Req>
class ReadOps : public Base {
 public:
  virtual void OnRead(std::function<void(Req&&)> fn) = 0;
  virtual void OnReadsDone(std::function<void()> fn) = 0;
  virtual void PauseReads() = 0;
  virtual void ResumeReads() = 0;
  virtual bool reads_done() const = 0;
};

template <class Base, class Resp>
class WriteOps : public Base {
 public:
  virtual bool Write(const Resp& message) = 0;
  virtual bool WriteRaw(const SerializedMessage& message) = 0;
  virtual bool writable() const = 0;
  virtual void OnWritable(std::function<void()> fn) = 0;
  virtual void SendInitialMetadata() = 0;
  // Both return false if the stream is already finishing.
  virtual bool Finish(const Status& status) = 0;
  virtual bool FinishNow(const Status& status) = 0;
};

template <class Req, class Resp>
class UnaryOps : public RespondOps<RequestOps<OpsRoot, Req>, Resp> {};
template <class Req, class Resp>
class ServerStreamOps : public WriteOps<RequestOps<OpsRoot, Req>, Resp> {};
template <class Req, class Resp>
class ClientStreamOps : public RespondOps<ReadOps<OpsRoot, Req>, Resp> {};
template <class Req, class Resp>
class BidiStreamOps : public WriteOps<ReadOps<OpsRoot, Req>, Resp> {};

}  // namespace percore::rpc
