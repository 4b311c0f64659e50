#pragma once
// Threading contract: NativeDispatcher is built on the control thread before the net::Server
// starts and is read-only afterwards, except for each shard's own ShardHandler, which only that
// shard's thread touches. Calls and their NetByteCalls live on the shard of their stream.
//
// The bridge between percore's own HTTP/2 transport (core/net) and the handlers (core/rpc): the
// Dispatcher the net::Server asks for each new stream looks the path up in that shard's
// MethodTable (ServerHost::methods) and, for a hosted method, wraps the net::Stream in a
// NetByteCall (a ByteCall, byte_call.h) and lets the method's typed adapter, made at
// registration, start the call (MethodEntry::StartBytes). An unknown path is UNIMPLEMENTED
// (answered by core/net).

#include <memory>
#include <vector>

#include "core/net/dispatcher.h"
#include "core/rpc/call_limits.h"
#include "core/rpc/method_table.h"

namespace percore::rpc {

class NativeDispatcher final : public net::Dispatcher {
 public:
  // `tables`: one per shard, by shard id (ServerHost's), alive while the server runs.
  NativeDispatcher(const std::vector<MethodTable>& tables, const CallLimits& limits);
  ~NativeDispatcher();

  net::MethodHandler* Dispatch(std::string_view path) override;

 private:
  class ShardHandler;
  const std::vector<MethodTable>& tables_;
  std::vector<std::unique_ptr<ShardHandler>> handlers_;  // by shard id
};

// The --health-listen port's dispatcher on the native transport: grpc.health.v1.Health only
// (found through `inner`, so the calls are the hosted health service's own); any other path
// is nullptr, which core/net answers UNIMPLEMENTED, as libgrpc's health port does (its gate,
// health_listener_interceptor.h, is not needed here: nothing else is dispatched).
class HealthOnlyDispatcher final : public net::Dispatcher {
 public:
  explicit HealthOnlyDispatcher(net::Dispatcher& inner) : inner_(inner) {}
  ~HealthOnlyDispatcher() = default;

  net::MethodHandler* Dispatch(std::string_view path) override {
    return path.starts_with("/grpc.health.v1.Health/") ? inner_.Dispatch(path) : nullptr;
  }

 private:
  net::Dispatcher& inner_;
};

}  // namespace percore::rpc
