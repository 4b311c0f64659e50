#pragma once
// Threading contract: see in_memory_transport.h (everything on the call's shard).
//
// The in-memory transport's call classes, one per call shape, each a MemoryCall that implements
// its shape interface (core/rpc/call_ops.h), and StartMemoryCall, which starts one through a
// method table entry as a client would.

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/testing/in_memory_transport.h"

namespace percore::testing {

namespace memory_internal {

// The pieces of the shape interfaces (call_ops.h) over MemoryCall, stacked per shape like the
// interfaces themselves; Data is the call class (a MemoryCall).
template <class Data, class Base, class Resp>
class Responds : public Base {
 public:
  bool Finish(const Resp& response) override { return call().Answer(response.SerializeAsString()); }
  bool FinishRaw(const rpc::SerializedMessage& response) override {
    return call().Answer(std::string(response.view()));
  }
  bool Finish(const Status& status) override { return call().FinishSingle(status); }

 private:
  MemoryCall& call() { return *static_cast<Data*>(this); }
};

template <class Data, class Base, class Resp>
class Writes : public Base {
 public:
  bool Write(const Resp& message) override {
    return call().WriteBytes(message.SerializeAsString());
  }
  bool WriteRaw(const rpc::SerializedMessage& message) override {
    return call().WriteBytes(std::string(message.view()));
  }
  bool writable() const override { return static_cast<const Data*>(this)->can_write(); }
  void OnWritable(std::function<void()> fn) override { call().SetOnWritable(std::move(fn)); }
  void SendInitialMetadata() override { call().SendInitialMetadataNow(); }
  bool Finish(const Status& status) override { return call().FinishStream(status, false); }
  bool FinishNow(const Status& status) override { return call().FinishStream(status, true); }

 private:
  MemoryCall& call() { return *static_cast<Data*>(this); }
};

template <class Data, class Base, class Req>
class Reads : public Base {
 public:
  // The client's bytes are parsed here, as a network transport's would be.
  void OnRead(std::function<void(Req&&)> fn) override {
    call().SetOnRead([&call = call(), fn = std::move(fn)](std::string&& bytes) {
      Req message;
      if (!message.ParseFromString(bytes)) {
        call.FinishWithStatus(Status(StatusCode::kInvalidArgument, "message does not parse"));
        return;
      }
      fn(std::move(message));
    });
  }
  void OnReadsDone(std::function<void()> fn) override { call().SetOnReadsDone(std::move(fn)); }
  void PauseReads() override { call().Pause(); }
  void ResumeReads() override { call().Resume(); }
  bool reads_done() const override { return static_cast<const Data*>(this)->reading_over(); }

 private:
  MemoryCall& call() { return *static_cast<Data*>(this); }
};

}  // namespace memory_internal

template <class Req, class Resp>
class MemoryUnaryCall final
    : public MemoryCall,
      public memory_internal::Responds<MemoryUnaryCall<Req, Resp>,
                                       rpc::HoldsRequest<rpc::UnaryOps<Req, Resp>, Req>, Resp> {
 public:
  using Ops = rpc::UnaryOps<Req, Resp>;
  static constexpr bool kReads = false;
  MemoryUnaryCall(runtime::Shard& shard, const rpc::MethodEntry& entry, MemoryCallOptions options,
                  std::shared_ptr<MemoryCallResult> result)
      : MemoryCall(shard, entry, true, std::move(options), std::move(result)) {}
  bool Receive(std::deque<std::string> messages) {
    return this->request_.ParseFromString(messages.at(0));
  }
};

template <class Req, class Resp>
class MemoryServerStreamCall final
    : public MemoryCall,
      public memory_internal::Writes<MemoryServerStreamCall<Req, Resp>,
                                     rpc::HoldsRequest<rpc::ServerStreamOps<Req, Resp>, Req>,
                                     Resp> {
 public:
  using Ops = rpc::ServerStreamOps<Req, Resp>;
  static constexpr bool kReads = false;
  MemoryServerStreamCall(runtime::Shard& shard, const rpc::MethodEntry& entry,
                         MemoryCallOptions options, std::shared_ptr<MemoryCallResult> result)
      : MemoryCall(shard, entry, false, std::move(options), std::move(result)) {}
  bool Receive(std::deque<std::string> messages) {
    return this->request_.ParseFromString(messages.at(0));
  }
};

template <class Req, class Resp>
class MemoryClientStreamCall final
    : public MemoryCall,
      public memory_internal::Responds<MemoryClientStreamCall<Req, Resp>,
                                       memory_internal::Reads<MemoryClientStreamCall<Req, Resp>,
                                                              rpc::ClientStreamOps<Req, Resp>, Req>,
                                       Resp> {
 public:
  using Ops = rpc::ClientStreamOps<Req, Resp>;
  static constexpr bool kReads = true;
  MemoryClientStreamCall(runtime::Shard& shard, const rpc::MethodEntry& entry,
                         MemoryCallOptions options, std::shared_ptr<MemoryCallResult> result)
      : MemoryCall(shard, entry, true, std::move(options), std::move(result)) {}
  bool Receive(std::deque<std::string> messages) {
    SetInbound(std::move(messages));
    return true;
  }
};

template <class Req, class Resp>
class MemoryBidiCall final
    : public MemoryCall,
      public memory_internal::Writes<
          MemoryBidiCall<Req, Resp>,
          memory_internal::Reads<MemoryBidiCall<Req, Resp>, rpc::BidiStreamOps<Req, Resp>, Req>,
          Resp> {
 public:
  using Ops = rpc::BidiStreamOps<Req, Resp>;
  static constexpr bool kReads = true;
  MemoryBidiCall(runtime::Shard& shard, const rpc::MethodEntry& entry, MemoryCallOptions options,
                 std::shared_ptr<MemoryCallResult> result)
      : MemoryCall(shard, entry, false, std::move(options), std::move(result)) {}
  bool Receive(std::deque<std::string> messages) {
    SetInbound(std::move(messages));
    return true;
  }
};

// Starts a call of `entry` on `shard` (from that shard's thread) as a client would: `messages`
// cross as bytes — the request of a unary or server-streaming call (one message), or what the
// client sends on a client-streaming or bidi call before it half-closes. Call is one of the
// classes above with the method's types; the result fills in as the call proceeds.
template <class Call, class Req>
std::shared_ptr<MemoryCallResult> StartMemoryCall(runtime::Shard& shard,
                                                  const rpc::MethodEntry& entry,
                                                  const std::vector<Req>& messages,
                                                  MemoryCallOptions options = {}) {
  auto result = std::make_shared<MemoryCallResult>();
  auto* call = new Call(shard, entry, std::move(options), result);
  std::deque<std::string> bytes;
  for (const Req& message : messages) bytes.push_back(message.SerializeAsString());
  if (!call->Receive(std::move(bytes))) {
    call->FinishWithStatus(Status(StatusCode::kInvalidArgument, "request does not parse"));
    call->Unref();  // the delivery reference: the handler never runs
    return result;
  }
  MemoryCall::Deliver(call, Call::kReads);
  return result;
}

}  // namespace percore::testing
