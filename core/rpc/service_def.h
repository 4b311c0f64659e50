#pragma once
// Threading contract: a ServiceDef is built on the control thread before the server starts;
// Instantiate() then runs once on every shard's thread; local(shard) from that shard's thread.
//
// How a service plugs into percore: typed handlers registered once, by method name, each a
// member function of a Handler class. Every shard gets its own Handler object (Seastar's
// sharded<T>), so handlers touch only shard-local state and need no locks:
//
//   auto def = std::make_shared<rpc::ServiceDef<UserHandler>>(
//       user::v1::UserService::descriptor(),
//       [&](runtime::Shard& shard) { return std::make_unique<UserHandler>(shard, ...); });
//   def->Unary("GetUser", &UserHandler::GetUser);          // void GetUser(UnaryCall<Req, Resp>)
//   def->ServerStream("ListUsers", &UserHandler::ListUsers);
//
// Registration checks the method name, shape and message types against the descriptor, and
// throws std::invalid_argument at start-up on a mismatch. Methods left unregistered answer
// UNIMPLEMENTED. Each method becomes a MethodBinding (method_table.h: path, shape, typed
// invoker), the transport-independent description every transport starts calls through; on each
// shard the instance lists them as MethodEntries (Find(path)) and holds libgrpc's slots. A Handler
// may define `void OnDrain()`: it runs on each shard when shutdown begins, so long-lived streams
// can be ended instead of waiting out the grace period.

#include <google/protobuf/descriptor.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include "core/observe/metrics_build.h"
#include "core/rpc/bidi_stream_call.h"
#include "core/rpc/byte_calls.h"
#include "core/rpc/call_router.h"
#include "core/rpc/client_stream_call.h"
#include "core/rpc/grpc_bidi_stream_call.h"
#include "core/rpc/grpc_client_stream_call.h"
#include "core/rpc/grpc_server_stream_call.h"
#include "core/rpc/grpc_unary_call.h"
#include "core/rpc/method_table.h"
#include "core/rpc/raw_service.h"
#include "core/rpc/server_stream_call.h"
#include "core/rpc/unary_call.h"
#include "core/runtime/shard.h"

namespace percore::rpc {

// What one service holds on one shard: its handler object, its methods bound to it (what any
// transport starts calls through) and libgrpc's slot per method.
class ShardServiceInstance {
 public:
  virtual ~ShardServiceInstance() = default;
  virtual void OnDrain() {}
  // The method at `path` ("/user.v1.UserService/GetUser"), or nullptr. Shard thread only.
  const MethodEntry* Find(std::string_view path) const {
    for (const MethodEntry& entry : methods) {
      if (entry.path() == path) return &entry;
    }
    return nullptr;
  }
  std::vector<MethodEntry> methods;                // by method index; never resized once made
  std::vector<std::unique_ptr<MethodSlot>> slots;  // destroyed after the handler (subclasses)
};

// The type-erased face of a ServiceDef, as the ServerHost sees it.
class ServiceRegistration {
 public:
  virtual ~ServiceRegistration() = default;
  virtual RawService& raw() = 0;
  virtual std::unique_ptr<ShardServiceInstance> Instantiate(runtime::Shard& shard,
                                                            const CallLimits& limits) = 0;
  virtual void SetShardCount(size_t shards) = 0;
  // The call chain for every method of the service (nullptr: none); before the server starts.
  virtual void SetInterceptors(const InterceptorChain* chain) = 0;
  const std::string& name() { return raw().full_name(); }
};

namespace internal {

// A method bound to a Handler member function taking the handle Call.
template <class Handler, class Call>
class BoundMethod final : public MethodBinding {
 public:
  using Method = void (Handler::*)(Call);
  BoundMethod(const google::protobuf::MethodDescriptor* method, Method fn)
      : MethodBinding(method, &typeid(typename Call::Ops)), fn_(fn) {}
  void Invoke(void* handler, CallCore& core, void* ops) const override {
    auto* typed = static_cast<typename Call::Ops*>(ops);
    RunHandler(core, path(), [&] {
      if (const InterceptorChain* chain = interceptors(); chain != nullptr) {
        const google::protobuf::Message* request = nullptr;
        if constexpr (requires { typed->request(); }) request = &typed->request();
        if (Status refused = chain->Run(InterceptedCall{core, *this, request}, prepared());
            !refused.ok()) {
          core.NoteStatus(refused.code());
          core.FinishWithStatus(refused);  // the handler never sees the call
          return;
        }
        // A unary call whose key another process owns is answered there (call_router.h).
        if constexpr (requires(Call c, const SerializedMessage& m) {
                        c.request();
                        c.FinishRaw(m);
                      }) {
          if (const CallRouter* router = chain->router(); router != nullptr) {
            auto take = [&]() -> RoutedAnswer {
              return [handle = Call(&core, typed)](const Status& status,
                                                   const SerializedMessage& response) {
                if (status.ok()) {
                  handle.FinishRaw(response);
                } else {
                  handle.Finish(status);
                }
              };
            };
            if (router->Route(InterceptedCall{core, *this, request}, take)) return;
          }
        }
      }
      (static_cast<Handler*>(handler)->*fn_)(Call(&core, typed));
    });
  }
  // The typed adapter made here, where the message types are known (byte_calls.h).
  void StartBytes(const MethodEntry& entry, ByteCall& bytes,
                  const CallLimits& limits) const override {
    StartByteCall<typename Call::Ops>(entry, bytes, limits);
  }

 private:
  Method fn_;
};

// A method no handler implements.
class UnimplementedMethod final : public MethodBinding {
 public:
  explicit UnimplementedMethod(const google::protobuf::MethodDescriptor* method)
      : MethodBinding(method, nullptr) {}
  void Invoke(void* /*handler*/, CallCore& core, void* /*ops*/) const override {
    core.NoteStatus(StatusCode::kUnimplemented);
    core.FinishWithStatus(Unimplemented());
  }
  void StartBytes(const MethodEntry& /*entry*/, ByteCall& bytes,
                  const CallLimits& /*limits*/) const override {
    Status status = Unimplemented();
    bytes.Finish(status.code(), status.message());
  }

 private:
  Status Unimplemented() const {
    return Status(StatusCode::kUnimplemented, "method " + descriptor()->service()->full_name() +
                                                  "/" + descriptor()->name() +
                                                  " is not implemented");
  }
};

// libgrpc's slot for a method whose calls are Data (grpc_*_call.h).
template <class Data>
std::unique_ptr<MethodSlot> MakeSlot(runtime::Shard& shard, RawService& service, int index,
                                     const CallLimits& limits, const MethodEntry& entry) {
  return std::make_unique<TypedSlot<Data>>(shard, service, index, limits, entry);
}

template <class Handler>
class HandlerInstance final : public ShardServiceInstance {
 public:
  explicit HandlerInstance(std::unique_ptr<Handler> handler) : handler(std::move(handler)) {}
  ~HandlerInstance() override { handler.reset(); }  // before the slots its calls point to
  void OnDrain() override {
    if constexpr (requires(Handler & h) { h.OnDrain(); }) handler->OnDrain();
  }
  std::unique_ptr<Handler> handler;
};

}  // namespace internal

template <class Handler>
class ServiceDef final : public ServiceRegistration {
 public:
  using Factory = std::function<std::unique_ptr<Handler>(runtime::Shard&)>;

  ServiceDef(const google::protobuf::ServiceDescriptor* descriptor, Factory factory)
      : raw_(descriptor), factory_(std::move(factory)) {
    for (int i = 0; i < descriptor->method_count(); ++i) {
      bindings_.push_back(std::make_unique<internal::UnimplementedMethod>(descriptor->method(i)));
      slot_makers_.push_back(UnimplementedSlotMaker(ShapeOf(*descriptor->method(i))));
    }
  }

  // For a handler that needs the ServiceDef itself (to reach its peers on other shards through
  // local()): construct with a null factory, then set it.
  void set_factory(Factory factory) { factory_ = std::move(factory); }

  template <class Req, class Resp>
  ServiceDef& Unary(std::string_view method, void (Handler::*fn)(UnaryCall<Req, Resp>)) {
    return Bind<UnaryCallData<Req, Resp>, Req, Resp>(method, fn, CallShape::kUnary);
  }
  template <class Req, class Resp>
  ServiceDef& ServerStream(std::string_view method,
                           void (Handler::*fn)(rpc::ServerStream<Req, Resp>)) {
    return Bind<ServerStreamCallData<Req, Resp>, Req, Resp>(method, fn, CallShape::kServerStream);
  }
  template <class Req, class Resp>
  ServiceDef& ClientStream(std::string_view method,
                           void (Handler::*fn)(rpc::ClientStream<Req, Resp>)) {
    return Bind<ClientStreamCallData<Req, Resp>, Req, Resp>(method, fn, CallShape::kClientStream);
  }
  template <class Req, class Resp>
  ServiceDef& Bidi(std::string_view method, void (Handler::*fn)(BidiStream<Req, Resp>)) {
    return Bind<BidiStreamCallData<Req, Resp>, Req, Resp>(method, fn, CallShape::kBidi);
  }

  // The handler object of `shard` (for in-process calls between services). Shard thread only.
  Handler& local(runtime::Shard& shard) { return *handlers_.at(shard.id()); }
  // The same, or nullptr before this service is instantiated on `shard` (a /metrics scrape
  // during start-up). Shard thread only.
  Handler* local_if_any(runtime::Shard& shard) const {
    return shard.id() < handlers_.size() ? handlers_[shard.id()] : nullptr;
  }

  RawService& raw() override { return raw_; }
  void SetShardCount(size_t shards) override { handlers_.assign(shards, nullptr); }
  void SetInterceptors(const InterceptorChain* chain) override {
    for (auto& binding : bindings_) binding->set_interceptors(chain);
  }

  std::unique_ptr<ShardServiceInstance> Instantiate(runtime::Shard& shard,
                                                    const CallLimits& limits) override {
    auto instance = std::make_unique<internal::HandlerInstance<Handler>>(factory_(shard));
    Handler* handler = instance->handler.get();
    handlers_.at(shard.id()) = handler;
    instance->methods.reserve(bindings_.size());
    auto& metrics = shard.Local<observe::GrpcServerShardMetrics>();
    for (const auto& binding : bindings_) {
      observe::MethodCounters* counters = metrics.Register(
          binding.get(),
          {GrpcTypeLabel(binding->shape()), raw_.full_name(), binding->descriptor()->name()});
      if (PERCORE_METRICS_BUILT_OUT) counters = nullptr;  // -Dmetrics=false: calls count nothing
      instance->methods.emplace_back(binding.get(), handler, counters);
    }
    for (size_t i = 0; i < bindings_.size(); ++i) {
      instance->slots.push_back(
          slot_makers_[i](shard, raw_, static_cast<int>(i), limits, instance->methods[i]));
    }
    return instance;
  }

 private:
  using SlotMaker = std::unique_ptr<MethodSlot> (*)(runtime::Shard&, RawService&, int,
                                                    const CallLimits&, const MethodEntry&);

  // Data: the method's libgrpc call data; its Ops is the shape interface of the handle Call.
  template <class Data, class Req, class Resp, class Call>
  ServiceDef& Bind(std::string_view method, void (Handler::*fn)(Call), CallShape shape) {
    static_assert(std::is_same_v<typename Data::Ops, typename Call::Ops>);
    int index = raw_.MethodIndex(method);
    const std::string where = raw_.full_name() + "/" + std::string(method);
    if (index < 0) throw std::invalid_argument("no method " + where);
    const google::protobuf::MethodDescriptor* m = raw_.descriptor()->method(index);
    if (ShapeOf(*m) != shape) {
      throw std::invalid_argument("method " + where + " is registered with the wrong call shape");
    }
    if (m->input_type()->full_name() != Req::descriptor()->full_name() ||
        m->output_type()->full_name() != Resp::descriptor()->full_name()) {
      throw std::invalid_argument("method " + where + " is registered with the wrong types");
    }
    bindings_[index] = std::make_unique<internal::BoundMethod<Handler, Call>>(m, fn);
    slot_makers_[index] = &internal::MakeSlot<Data>;
    return *this;
  }

  // Calls of a method nobody implements take the bytes as they came.
  static SlotMaker UnimplementedSlotMaker(CallShape shape) {
    using Bytes = grpc::ByteBuffer;
    switch (shape) {
      case CallShape::kUnary:
        return &internal::MakeSlot<UnaryCallData<Bytes, Bytes>>;
      case CallShape::kServerStream:
        return &internal::MakeSlot<ServerStreamCallData<Bytes, Bytes>>;
      case CallShape::kClientStream:
        return &internal::MakeSlot<ClientStreamCallData<Bytes, Bytes>>;
      default:
        return &internal::MakeSlot<BidiStreamCallData<Bytes, Bytes>>;
    }
  }

  RawService raw_;
  Factory factory_;
  std::vector<std::unique_ptr<MethodBinding>> bindings_;  // by method index
  std::vector<SlotMaker> slot_makers_;                    // by method index
  std::vector<Handler*> handlers_;  // by shard id; each written and read on its own shard
};

}  // namespace percore::rpc
