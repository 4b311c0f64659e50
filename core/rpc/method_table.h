#pragma once
// Threading contract: MethodBindings are made with their ServiceDef on the control thread and
// are immutable afterwards (read from any shard). A MethodEntry and a MethodTable belong to one
// shard (they point at that shard's handler object): Find() and Start() on that shard's thread.
//
// The transport-independent description of every method a server hosts, which is how any
// transport reaches the handlers: the full path ("/user.v1.UserService/GetUser"), the call
// shape, and an invoker that, given the transport's call object (a CallCore that implements the
// shape interface of call_ops.h with the method's message types), builds the handle and runs the
// handler member function on the shard's handler object. An exception escaping the handler
// becomes INTERNAL and a log line (the one catch of the dispatch layer). libgrpc's call data
// start their calls through the same entries (method_slot.h); core/rpc/README.md says how
// another transport plugs in. No libgrpc header here.

#include <google/protobuf/descriptor.h>

#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <typeinfo>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/observe/log.h"
#include "core/rpc/call_core.h"
#include "core/rpc/call_interceptor.h"
#include "core/rpc/call_limits.h"

namespace percore::rpc {

class ByteCall;
class MethodEntry;

enum class CallShape { kUnary, kServerStream, kClientStream, kBidi };

inline CallShape ShapeOf(const google::protobuf::MethodDescriptor& method) {
  if (method.client_streaming()) {
    return method.server_streaming() ? CallShape::kBidi : CallShape::kClientStream;
  }
  return method.server_streaming() ? CallShape::kServerStream : CallShape::kUnary;
}

// Runs `fn` (which calls a handler), turning an escaped exception into INTERNAL.
template <class Fn>
void RunHandler(CallCore& call, const std::string& path, Fn&& fn) {
  try {
    fn();
    return;
  } catch (const std::exception& e) {
    observe::Log(observe::LogLevel::kError, "percore: handler of %s threw: %s\n", path.c_str(),
                 e.what());
  } catch (...) {
    observe::Log(observe::LogLevel::kError, "percore: handler of %s threw: unknown exception\n",
                 path.c_str());
  }
  call.NoteStatus(StatusCode::kInternal);
  call.FinishWithStatus(Status(StatusCode::kInternal, "internal error"));
}

// go-grpc-prometheus's grpc_type label of a shape.
inline const char* GrpcTypeLabel(CallShape shape) {
  switch (shape) {
    case CallShape::kUnary:
      return "unary";
    case CallShape::kServerStream:
      return "server_stream";
    case CallShape::kClientStream:
      return "client_stream";
    default:
      return "bidi_stream";
  }
}

// One method of a ServiceDef, the same on every shard.
class MethodBinding {
 public:
  MethodBinding(const google::protobuf::MethodDescriptor* method, const std::type_info* ops_type)
      : method_(method),
        path_("/" + method->service()->full_name() + "/" + method->name()),
        shape_(ShapeOf(*method)),
        ops_type_(ops_type),
        // Health checks must answer while the server sheds load (admission.h).
        exempt_from_shedding_(method->service()->full_name() == "grpc.health.v1.Health") {}
  virtual ~MethodBinding() = default;

  const std::string& path() const { return path_; }
  CallShape shape() const { return shape_; }
  const google::protobuf::MethodDescriptor* descriptor() const { return method_; }
  // The shape interface (call_ops.h, with the method's message types) a call object must
  // implement; nullptr when any will do (a method no handler implements answers UNIMPLEMENTED
  // without touching it).
  const std::type_info* ops_type() const { return ops_type_; }
  // The chain every call of this method passes before its handler (nullptr: none). Set on the
  // control thread before the server starts.
  void set_interceptors(const InterceptorChain* chain) {
    interceptors_ = chain;
    prepared_ = chain != nullptr ? chain->Prepare(*this) : std::vector<const void*>();
  }
  const InterceptorChain* interceptors() const { return interceptors_; }
  // Each interceptor's Prepare() for this method (InterceptorChain::Run's `prepared`).
  const std::vector<const void*>& prepared() const { return prepared_; }
  bool exempt_from_shedding() const { return exempt_from_shedding_; }

  // Runs the handler of `handler` (the shard's handler object) for `core`, whose shape interface
  // is `ops` (an Ops* of ops_type(), as void*).
  virtual void Invoke(void* handler, CallCore& core, void* ops) const = 0;
  // For a transport that has only bytes (byte_call.h): makes this method's typed call object
  // (byte_calls.h: it parses requests and serializes answers with the method's message types)
  // over `bytes` on the current shard and starts it through `entry`: admission, then the
  // handler. A method without a handler answers UNIMPLEMENTED without a call object.
  virtual void StartBytes(const MethodEntry& entry, ByteCall& bytes,
                          const CallLimits& limits) const = 0;

 private:
  const google::protobuf::MethodDescriptor* method_;
  std::string path_;
  CallShape shape_;
  const std::type_info* ops_type_;
  const InterceptorChain* interceptors_ = nullptr;
  std::vector<const void*> prepared_;
  bool exempt_from_shedding_;
};

// A method bound on one shard: its binding and that shard's handler object.
class MethodEntry {
 public:
  // `counters`: this shard's metrics of the method (core/observe), nullptr for none.
  MethodEntry(const MethodBinding* binding, void* handler,
              observe::MethodCounters* counters = nullptr)
      : binding_(binding), handler_(handler), counters_(counters) {}

  const std::string& path() const { return binding_->path(); }
  CallShape shape() const { return binding_->shape(); }
  const google::protobuf::MethodDescriptor* descriptor() const { return binding_->descriptor(); }
  bool exempt_from_shedding() const { return binding_->exempt_from_shedding(); }

  // For a byte-level transport: the typed adapter made at registration starts the call.
  void StartBytes(ByteCall& bytes, const CallLimits& limits) const {
    binding_->StartBytes(*this, bytes, limits);
  }

  // For a transport: starts the handler for `call`, a CallCore that implements Ops (the shape
  // interface of this method's message types, such as UnaryOps<GetUserRequest, User>). On a type
  // mismatch (a transport bug) the call is answered INTERNAL and false returned.
  template <class Impl>
  bool Start(Impl& call) const {
    using Ops = typename Impl::Ops;
    const std::type_info* expected = binding_->ops_type();
    if (expected != nullptr && *expected != typeid(Ops)) {
      call.FinishWithStatus(Status(StatusCode::kInternal,
                                   "transport called " + path() + " with the wrong message types"));
      return false;
    }
    Invoke(call, static_cast<Ops*>(&call));
    return true;
  }

  // For a transport whose call object is built for this very binding's types (libgrpc's slots):
  // no check.
  // Every call of every transport starts here: the metrics hook (call_core.h).
  // And the tracing hook: the call's span is ambient while the handler runs (call_core.h).
  void Invoke(CallCore& core, void* ops) const {
    core.BeginMetrics(counters_,
                      shape() == CallShape::kUnary || shape() == CallShape::kServerStream);
    if (observe::ShardTracer* tracer = observe::ShardTracer::Current()) [[unlikely]] {
      observe::TraceScope trace(core.BeginSpan(*tracer, path()));
      binding_->Invoke(handler_, core, ops);
      return;
    }
    binding_->Invoke(handler_, core, ops);
  }

 private:
  const MethodBinding* binding_;
  void* handler_;
  observe::MethodCounters* counters_;
};

// Every method a server hosts on one shard, by path.
class MethodTable {
 public:
  void Add(const MethodEntry* entry) { by_path_.emplace(entry->path(), entry); }
  // nullptr when no hosted service has this method (a transport answers UNIMPLEMENTED).
  const MethodEntry* Find(std::string_view path) const {
    auto it = by_path_.find(path);
    return it == by_path_.end() ? nullptr : it->second;
  }
  size_t size() const { return by_path_.size(); }

 private:
  std::unordered_map<std::string_view, const MethodEntry*> by_path_;  // keys: the bindings' paths
};

}  // namespace percore::rpc
