#pragma once
// Threading contract: see byte_call_base.h (everything on the call's shard).
//
// The typed halves of calls over a ByteCall, one class template for the four call shapes: each
// is a ByteCallBase that implements its shape interface (call_ops.h) with the method's message
// types, parsing the client's bytes and serializing the answers. ByteCallOf<Ops> is the class for a
// shape interface, so a MethodBinding, which knows its Ops where the method is registered
// (service_def.h), makes the right one for a transport that knows only the path
// (MethodEntry::StartBytes). Answers are serialized into a per-thread buffer the transport
// copies from, so no string is allocated per message.

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "core/rpc/byte_call_base.h"
#include "core/rpc/call_ops.h"
#include "core/runtime/shard.h"

namespace percore::rpc {

namespace byte_internal {

// The transport's form of `message` (protobuf's binary form, or the call's codec's), valid
// until the next call on this thread.
template <class Message>
std::string_view Serialize(const ByteCallBase& call, const Message& message) {
  thread_local std::string buffer;
  if (const MessageCodec* codec = call.codec(); codec != nullptr) {
    codec->Encode(message, buffer);
  } else {
    message.SerializeToString(&buffer);
  }
  return buffer;
}

// A pre-serialized answer in the transport's form: as it is, or encoded from those bytes by the
// call's codec (stored rows are kept serialized; a JSON client still needs JSON).
template <class Message>
std::string_view SerializeRaw(const ByteCallBase& call, const SerializedMessage& bytes) {
  const MessageCodec* codec = call.codec();
  if (codec == nullptr) return bytes.view();
  thread_local std::string buffer;
  codec->EncodeSerialized(bytes.view(), *Message::descriptor(), buffer);
  return buffer;
}

// Parses one client message in the transport's form into `message`.
template <class Message>
Status Parse(const ByteCallBase& call, std::string_view bytes, Message& message, const char* what) {
  if (const MessageCodec* codec = call.codec(); codec != nullptr) {
    return codec->Decode(bytes, message);
  }
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status(StatusCode::kInvalidArgument,
                  std::string(what) + " is not a valid " + Message::descriptor()->full_name());
  }
  return Status();
}

template <class Data, class Base, class Resp>
class Responds : public Base {
 public:
  bool Finish(const Resp& response) override { return call().Answer(Serialize(call(), response)); }
  bool FinishRaw(const SerializedMessage& response) override {
    return call().Answer(SerializeRaw<Resp>(call(), response));
  }
  bool Finish(const Status& status) override { return call().FinishSingle(status); }

 private:
  ByteCallBase& call() { return *static_cast<Data*>(this); }
};

template <class Data, class Base, class Resp>
class Writes : public Base {
 public:
  bool Write(const Resp& message) override { return call().WriteBytes(Serialize(call(), message)); }
  bool WriteRaw(const SerializedMessage& message) override {
    return call().WriteBytes(SerializeRaw<Resp>(call(), message));
  }
  bool writable() const override { return static_cast<const Data*>(this)->can_write(); }
  void OnWritable(std::function<void()> fn) override { call().SetOnWritable(std::move(fn)); }
  void SendInitialMetadata() override { call().SendInitialMetadataNow(); }
  bool Finish(const Status& status) override { return call().FinishStream(status); }
  // The transport cannot take back bytes it may have started to frame: queued messages (at
  // most the transport's write-queue bound) still go out before the status.
  bool FinishNow(const Status& status) override { return call().FinishStream(status); }

 private:
  ByteCallBase& call() { return *static_cast<Data*>(this); }
};

template <class Data, class Base, class Req>
class Reads : public Base {
 public:
  void OnRead(std::function<void(Req&&)> fn) override {
    if (!call().reading_stopped()) on_read_ = std::move(fn);
  }
  void OnReadsDone(std::function<void()> fn) override { call().SetOnReadsDone(std::move(fn)); }
  void PauseReads() override { call().PauseReading(); }
  void ResumeReads() override { call().ResumeReading(); }
  bool reads_done() const override { return static_cast<const Data*>(this)->reading_over(); }

 protected:
  // Each client message: parsed here, as libgrpc's call data parse theirs.
  void Read(std::string_view bytes) {
    Req message;
    if (Status parsed = Parse(call(), bytes, message, "message"); !parsed.ok()) {
      call().RefuseMessage(parsed);
      return;
    }
    if (on_read_) on_read_(std::move(message));
  }
  void DropRead() { auto fn = std::exchange(on_read_, nullptr); }

 private:
  ByteCallBase& call() { return *static_cast<Data*>(this); }
  std::function<void(Req&&)> on_read_;
};

// The one request of unary and server-streaming calls: parse, then run the handler.
template <class Call, class Req>
void RunWithRequest(Call& call, Req& request, std::string_view bytes) {
  if (Status parsed = Parse(call, bytes, request, "request"); !parsed.ok()) {
    call.FinishWithStatus(parsed);
    return;
  }
  call.Invoke(static_cast<typename Call::Ops*>(&call));
}

// What differs between the four shapes: the stacked pieces above, whether the call answers
// once, and whether the client streams (its messages arrive through OnReadBytes) or sends the
// one request (OnRequest) the handler starts with.
template <class Ops>
struct ShapeOf;
template <class Req, class Resp>
struct ShapeOf<UnaryOps<Req, Resp>> {
  static constexpr bool kSingleResponse = true, kReads = false;
  template <class Data>
  using Layers = Responds<Data, HoldsRequest<UnaryOps<Req, Resp>, Req>, Resp>;
};
template <class Req, class Resp>
struct ShapeOf<ServerStreamOps<Req, Resp>> {
  static constexpr bool kSingleResponse = false, kReads = false;
  template <class Data>
  using Layers = Writes<Data, HoldsRequest<ServerStreamOps<Req, Resp>, Req>, Resp>;
};
template <class Req, class Resp>
struct ShapeOf<ClientStreamOps<Req, Resp>> {
  static constexpr bool kSingleResponse = true, kReads = true;
  template <class Data>
  using Layers = Responds<Data, Reads<Data, ClientStreamOps<Req, Resp>, Req>, Resp>;
};
template <class Req, class Resp>
struct ShapeOf<BidiStreamOps<Req, Resp>> {
  static constexpr bool kSingleResponse = false, kReads = true;
  template <class Data>
  using Layers = Writes<Data, Reads<Data, BidiStreamOps<Req, Resp>, Req>, Resp>;
};

}  // namespace byte_internal

// The byte-level call class of one shape interface (Ops): a ByteCallBase with the shape's
// pieces stacked on it.
template <class OpsT>
class ByteCallOf final : public ByteCallBase,
                         public byte_internal::ShapeOf<OpsT>::template Layers<ByteCallOf<OpsT>> {
  using Shape = byte_internal::ShapeOf<OpsT>;

 public:
  using Ops = OpsT;
  ByteCallOf(runtime::Shard& shard, ByteCall& bytes, const MethodEntry& entry,
             const CallLimits& limits)
      : ByteCallBase(shard, bytes, entry, limits, Shape::kSingleResponse, Shape::kReads) {}
  void OnRequest(std::string_view bytes) override {
    if constexpr (!Shape::kReads) byte_internal::RunWithRequest(*this, this->request_, bytes);
  }
  void OnReadBytes(std::string_view bytes) override {
    if constexpr (Shape::kReads) this->Read(bytes);
  }

 protected:
  void ClearCallbacks() override {
    if constexpr (Shape::kReads) this->DropRead();
    ByteCallBase::ClearCallbacks();
  }
};

// Makes the call object on the current shard and starts it (admission, then the handler of a
// reading shape at once; of a single-request shape at its message).
template <class Ops>
void StartByteCall(const MethodEntry& entry, ByteCall& bytes, const CallLimits& limits) {
  using Call = ByteCallOf<Ops>;
  auto* call = new Call(*runtime::Shard::Current(), bytes, entry, limits);
  call->Begin(static_cast<Ops*>(call));
}

}  // namespace percore::rpc
