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
// UNIMPLEMENTED. A Handler may define `void OnDrain()`: it runs on each shard when shutdown
// begins, so long-lived streams can be ended instead of waiting out the grace period.

#include <google/protobuf/descriptor.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/rpc/bidi_stream_call.h"
#include "core/rpc/client_stream_call.h"
#include "core/rpc/raw_service.h"
#include "core/rpc/server_stream_call.h"
#include "core/rpc/unary_call.h"
#include "core/runtime/shard.h"

namespace percore::rpc {

// What one service holds on one shard: its handler object and one slot per method.
class ShardServiceInstance {
 public:
  virtual ~ShardServiceInstance() = default;
  virtual void OnDrain() {}
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
  const std::string& name() { return raw().full_name(); }
};

namespace internal {

// A slot whose Invoke calls a member function of the shard's handler.
template <class SlotBase, class Call, class Handler>
class BoundSlot final : public SlotBase {
 public:
  using Method = void (Handler::*)(Call);
  BoundSlot(runtime::Shard& shard, RawService& service, int index, const CallLimits& limits,
            Handler* handler, Method method)
      : SlotBase(shard, service, index, limits), handler_(handler), method_(method) {}
  void Invoke(Call call) override { (handler_->*method_)(std::move(call)); }

 private:
  Handler* handler_;
  Method method_;
};

// A slot for a method no handler implements.
template <class SlotBase, class Call>
class UnimplementedSlot final : public SlotBase {
 public:
  using SlotBase::SlotBase;
  void Invoke(Call call) override {
    call.Finish(Status(StatusCode::kUnimplemented, "method " + this->service().full_name() + "/" +
                                                       this->method_name() +
                                                       " is not implemented"));
  }
};

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
      : raw_(descriptor), factory_(std::move(factory)), binders_(descriptor->method_count()) {}

  // For a handler that needs the ServiceDef itself (to reach its peers on other shards through
  // local()): construct with a null factory, then set it.
  void set_factory(Factory factory) { factory_ = std::move(factory); }

  template <class Req, class Resp>
  ServiceDef& Unary(std::string_view method, void (Handler::*fn)(UnaryCall<Req, Resp>)) {
    return Bind<UnaryCall<Req, Resp>, Req, Resp>(method, fn, false, false);
  }
  template <class Req, class Resp>
  ServiceDef& ServerStream(std::string_view method,
                           void (Handler::*fn)(rpc::ServerStream<Req, Resp>)) {
    return Bind<rpc::ServerStream<Req, Resp>, Req, Resp>(method, fn, false, true);
  }
  template <class Req, class Resp>
  ServiceDef& ClientStream(std::string_view method,
                           void (Handler::*fn)(rpc::ClientStream<Req, Resp>)) {
    return Bind<rpc::ClientStream<Req, Resp>, Req, Resp>(method, fn, true, false);
  }
  template <class Req, class Resp>
  ServiceDef& Bidi(std::string_view method, void (Handler::*fn)(BidiStream<Req, Resp>)) {
    return Bind<BidiStream<Req, Resp>, Req, Resp>(method, fn, true, true);
  }

  // The handler object of `shard` (for in-process calls between services). Shard thread only.
  Handler& local(runtime::Shard& shard) { return *handlers_.at(shard.id()); }

  RawService& raw() override { return raw_; }
  void SetShardCount(size_t shards) override { handlers_.assign(shards, nullptr); }

  std::unique_ptr<ShardServiceInstance> Instantiate(runtime::Shard& shard,
                                                    const CallLimits& limits) override {
    auto instance = std::make_unique<internal::HandlerInstance<Handler>>(factory_(shard));
    handlers_.at(shard.id()) = instance->handler.get();
    const google::protobuf::ServiceDescriptor* d = raw_.descriptor();
    for (int i = 0; i < d->method_count(); ++i) {
      if (binders_[i]) {
        instance->slots.push_back(binders_[i](shard, limits, instance->handler.get()));
      } else {
        instance->slots.push_back(MakeUnimplemented(shard, limits, i));
      }
    }
    return instance;
  }

 private:
  using Binder =
      std::function<std::unique_ptr<MethodSlot>(runtime::Shard&, const CallLimits&, Handler*)>;

  template <class Call, class Req, class Resp>
  ServiceDef& Bind(std::string_view method, void (Handler::*fn)(Call), bool client_streaming,
                   bool server_streaming) {
    int index = raw_.MethodIndex(method);
    const std::string where = raw_.full_name() + "/" + std::string(method);
    if (index < 0) throw std::invalid_argument("no method " + where);
    const google::protobuf::MethodDescriptor* m = raw_.descriptor()->method(index);
    if (m->client_streaming() != client_streaming || m->server_streaming() != server_streaming) {
      throw std::invalid_argument("method " + where + " is registered with the wrong call shape");
    }
    if (m->input_type()->full_name() != Req::descriptor()->full_name() ||
        m->output_type()->full_name() != Resp::descriptor()->full_name()) {
      throw std::invalid_argument("method " + where + " is registered with the wrong types");
    }
    binders_[index] = [this, index, fn](runtime::Shard& shard, const CallLimits& limits,
                                        Handler* handler) -> std::unique_ptr<MethodSlot> {
      return std::make_unique<internal::BoundSlot<TypedSlot<Call>, Call, Handler>>(
          shard, raw_, index, limits, handler, fn);
    };
    return *this;
  }

  std::unique_ptr<MethodSlot> MakeUnimplemented(runtime::Shard& shard, const CallLimits& limits,
                                                int index) {
    using Bytes = grpc::ByteBuffer;
    switch (raw_.MethodType(index)) {
      case RawService::RpcType::NORMAL_RPC:
        return MakeUnimplemented<UnaryCall<Bytes, Bytes>>(shard, limits, index);
      case RawService::RpcType::SERVER_STREAMING:
        return MakeUnimplemented<rpc::ServerStream<Bytes, Bytes>>(shard, limits, index);
      case RawService::RpcType::CLIENT_STREAMING:
        return MakeUnimplemented<rpc::ClientStream<Bytes, Bytes>>(shard, limits, index);
      default:
        return MakeUnimplemented<BidiStream<Bytes, Bytes>>(shard, limits, index);
    }
  }
  template <class Call>
  std::unique_ptr<MethodSlot> MakeUnimplemented(runtime::Shard& shard, const CallLimits& limits,
                                                int index) {
    return std::make_unique<internal::UnimplementedSlot<TypedSlot<Call>, Call>>(shard, raw_, index,
                                                                                limits);
  }

  RawService raw_;
  Factory factory_;
  std::vector<Binder> binders_;
  std::vector<Handler*> handlers_;  // by shard id; each written and read on its own shard
};

}  // namespace percore::rpc
