#pragma once
// Threading contract: Call() on a shard thread of one Runtime; `done` runs exactly once on that
// thread (inline when the call cannot start). Destroyed after that runtime has stopped.
//
// A RemotePeer's generated stubs, one per shard (a stub registers its methods with its channel,
// so it is made once, not per call), and the checks every remote call makes before it starts.

#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/runtime/shard.h"
#include "services/clients/call_options.h"
#include "services/remote/per_shard.h"
#include "services/remote/remote_peer.h"
#include "services/remote/remote_unary_call.h"

namespace percore::remote {

template <class Service>
class PeerStubs {
 public:
  using Stub = typename Service::Stub;

  // `methods`: the names of the methods the client calls, in the order of the `method` index
  // Call() takes; each gets its grpc_client_* series (at zero) on the peer's metrics.
  PeerStubs(std::shared_ptr<RemotePeer> peer, std::span<const char* const> methods)
      : peer_(std::move(peer)) {
    for (const char* method : methods) {
      metric_ids_.push_back(peer_->metrics().Register(peer_->service(), method));
    }
  }
  PeerStubs(std::shared_ptr<RemotePeer> peer, std::initializer_list<const char*> methods)
      : PeerStubs(std::move(peer), std::span(methods.begin(), methods.size())) {}

  // `prepare(stub, context, cq)` returns stub.PrepareAsync<Method>(context, request, cq);
  // `method` indexes the names given to the constructor.
  template <class Resp, class Prepare>
  void Call(size_t method, const clients::CallOptions& options, clients::Done<Resp> done,
            Prepare&& prepare) {
    runtime::Shard* shard = runtime::Shard::Current();
    if (shard == nullptr) {
      done(Status(StatusCode::kInternal, peer_->service() + " client called off a shard thread"),
           Resp());
      return;
    }
    RemotePeer::ShardState& state = peer_->ForShard(*shard);
    // A closing shard may start no gRPC operation on its queue (gRPC asserts).
    if (state.closed || !shard->cq_open()) {
      done(Status(StatusCode::kUnavailable,
                  peer_->service() + " is not reachable: this server is shutting down"),
           Resp());
      return;
    }
    ShardStub& shard_stub = stubs_.Get(*shard, [] { return std::make_unique<ShardStub>(); });
    if (shard_stub.channel != state.channel) {  // first call, or credentials reloaded (SIGHUP)
      shard_stub.stub = Service::NewStub(state.channel);
      shard_stub.channel = state.channel;
    }
    Stub& stub = *shard_stub.stub;
    observe::MethodCounters* counters = peer_->metrics().counters(shard->id(), metric_ids_[method]);
    const observe::MethodLabels* labels = &peer_->metrics().labels(metric_ids_[method]);
    RemoteUnaryCall<Resp>::Start(peer_, state, shard->cq(), options, counters, labels,
                                 std::move(done),
                                 [&](grpc::ClientContext* context, grpc::CompletionQueue* cq) {
                                   return prepare(stub, context, cq);
                                 });
  }

  RemotePeer& peer() { return *peer_; }
  const std::shared_ptr<RemotePeer>& shared_peer() const { return peer_; }

 private:
  struct ShardStub {
    std::shared_ptr<grpc::Channel> channel;  // the channel `stub` was made on
    std::unique_ptr<Stub> stub;
  };

  std::shared_ptr<RemotePeer> peer_;
  PerShard<ShardStub> stubs_;
  std::vector<size_t> metric_ids_;  // by the `method` index of Call()
};

}  // namespace percore::remote
