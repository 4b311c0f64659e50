#pragma once
// Threading contract: Create() at start-up, before the runtime runs; ForShard() and Close() on a
// shard thread of one Runtime, each touching only that shard's state; destroyed after the
// runtime has stopped (its shards' queues drained, so no call of its is still pending).
//
// One --peer: a service served by one or more replicas in other processes, reached over gRPC with
// round_robin across the replicas (peer_target.h, peer_service_config.h). By default every shard
// has its own channel, so shards share neither a connection nor the channel's locks; distinct
// channels with the local subchannel pool keep gRPC from pooling their connections. A shard also
// keeps the calls it has in flight, so shutdown can cancel them (Close) rather than wait for
// their deadlines: a shard's completion queue only finishes draining once they complete.

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/observe/grpc_client_metrics.h"
#include "core/runtime/shard.h"
#include "services/remote/in_flight_calls.h"
#include "services/remote/peer_service_config.h"
#include "services/remote/per_shard.h"

namespace percore::remote {

struct PeerOptions {
  std::string service;                         // full name: "payment.v1.PaymentService"
  std::vector<std::string> addresses;          // HOST:PORT of each replica
  std::vector<std::string> retryable_methods;  // the idempotent ones (see peer_service_config.h)
  RetryPolicy retry;
  bool channel_per_shard = true;  // false: one channel (one connection per replica) for all
  // How long a lost replica waits at most between reconnection attempts (gRPC: 120 s), so one
  // that restarts rejoins the rotation soon.
  int max_reconnect_backoff_ms = 5000;
  // The first wait before reconnecting to a lost replica; 0: gRPC's (1 s).
  int initial_reconnect_backoff_ms = 0;
};

class RemotePeer : public std::enable_shared_from_this<RemotePeer> {
 public:
  // nullptr with `error` set when an address is bad or does not resolve.
  static std::shared_ptr<RemotePeer> Create(PeerOptions options, std::string* error);

  struct ShardState {
    std::shared_ptr<grpc::Channel> channel;
    InFlightCalls calls;
    bool closed = false;       // after Close(): new calls fail at once
    bool unreachable = false;  // the last call ended UNAVAILABLE (see NoteOutcome)
    // Set on this shard by ReloadCredentials(): channels made from then on use these.
    std::shared_ptr<grpc::ChannelCredentials> reloaded_credentials;
  };

  // This shard's channel and calls (the channel is made on first use, unless closed).
  ShardState& ForShard(runtime::Shard& shard);

  // A call to this peer ended with `status` on the calling shard: logs the peer's connectivity
  // as this shard sees it when it changes (a warning when calls start to end UNAVAILABLE, a
  // line when one succeeds again), never per call otherwise.
  void NoteOutcome(const Status& status);

  // Cancels this shard's calls in flight (they complete CANCELLED) and fails later ones on this
  // shard at once with UNAVAILABLE. For shutdown, once the grace period is over.
  void Close(runtime::Shard& shard);

  const std::string& service() const { return options_.service; }
  // The `authorization` metadata every call to this peer carries ("Bearer <token>"; empty:
  // none). Set before the runtime starts (--peer-token-file).
  void SetAuthorization(std::string value) { authorization_ = std::move(value); }
  const std::string& authorization() const { return authorization_; }
  // TLS to this peer (--peer-tls-*): the channels made from now on use `credentials` and check
  // the replicas' certificates against the host name of the first --peer address (targets are
  // numeric, peer_target.h). Before the runtime starts. Default: plaintext.
  void SetChannelCredentials(std::shared_ptr<grpc::ChannelCredentials> credentials);
  // SIGHUP (--peer-tls-* files read again): from any thread but a shard's once the runtime runs;
  // returns once every shard has, through its mailbox, swapped its channel for one made with
  // `credentials` (what is logged after it is true); calls already started
  // finish on the old channel, which closes when the last of them does. Connections are not
  // dropped: new calls open the new channel's connections, which present the new certificate.
  void ReloadCredentials(std::shared_ptr<grpc::ChannelCredentials> credentials,
                         runtime::Runtime& runtime);
  const std::string& target() const { return target_; }
  const std::string& service_config() const { return service_config_; }
  const std::vector<std::string>& addresses() const { return options_.addresses; }
  // grpc_client_* of the calls to this peer (core/observe): methods registered by the clients
  // built on it, per-shard counters made by main() once the shard count is known (Start).
  observe::GrpcClientMetrics& metrics() { return metrics_; }
  const observe::GrpcClientMetrics& metrics() const { return metrics_; }

 private:
  RemotePeer(PeerOptions options, std::string target);
  std::shared_ptr<grpc::Channel> NewChannel(
      const std::shared_ptr<grpc::ChannelCredentials>& credentials) const;

  PeerOptions options_;
  std::string authorization_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;  // nullptr: plaintext
  std::string target_;
  std::string service_config_;
  std::shared_ptr<grpc::Channel> shared_channel_;  // when !channel_per_shard
  PerShard<ShardState> shards_;
  observe::GrpcClientMetrics metrics_;
};

}  // namespace percore::remote
