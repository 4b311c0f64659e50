#include "services/remote/remote_peer.h"

#include <grpc/grpc.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "core/observe/log.h"
#include "services/remote/peer_channel.h"
#include "services/remote/peer_target.h"

namespace percore::remote {

std::shared_ptr<RemotePeer> RemotePeer::Create(PeerOptions options, std::string* error) {
  std::optional<std::string> target = PeerTarget(options.addresses, error);
  if (!target) return nullptr;
  return std::shared_ptr<RemotePeer>(new RemotePeer(std::move(options), std::move(*target)));
}

RemotePeer::RemotePeer(PeerOptions options, std::string target)
    : options_(std::move(options)),
      target_(std::move(target)),
      service_config_(
          PeerServiceConfig(options_.service, options_.retryable_methods, options_.retry)) {
  if (!options_.channel_per_shard) shared_channel_ = NewChannel(credentials_);
}

std::shared_ptr<grpc::Channel> RemotePeer::NewChannel(
    const std::shared_ptr<grpc::ChannelCredentials>& credentials) const {
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(service_config_);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  // Each channel gets its own subchannels (connections) instead of gRPC's process-wide pool.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, options_.max_reconnect_backoff_ms);
  if (options_.initial_reconnect_backoff_ms > 0) {
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, options_.initial_reconnect_backoff_ms);
  }
  return NewPeerChannel(target_, options_.addresses.front(), credentials, std::move(args));
}

void RemotePeer::SetChannelCredentials(std::shared_ptr<grpc::ChannelCredentials> credentials) {
  credentials_ = std::move(credentials);
  if (shared_channel_) shared_channel_ = NewChannel(credentials_);  // plaintext one never used
}

void RemotePeer::ReloadCredentials(std::shared_ptr<grpc::ChannelCredentials> credentials,
                                   runtime::Runtime& runtime) {
  // credentials_ and shared_channel_ stay as they were (shards read them without a lock); the
  // new ones live in each shard's state. Without a per-shard channel the shards share one new
  // channel, as they shared the old one.
  std::shared_ptr<grpc::Channel> shared =
      options_.channel_per_shard ? nullptr : NewChannel(credentials);
  runtime.RunOnAllAndWait([self = shared_from_this(), credentials, shared](runtime::Shard& shard) {
    ShardState& state = self->shards_.Get(shard, [] { return std::make_unique<ShardState>(); });
    state.reloaded_credentials = credentials;
    state.channel = shared;  // null: ForShard makes this shard's next channel
  });
}

RemotePeer::ShardState& RemotePeer::ForShard(runtime::Shard& shard) {
  ShardState& state = shards_.Get(shard, [] { return std::make_unique<ShardState>(); });
  if (!state.channel && !state.closed) {
    if (state.reloaded_credentials) {
      state.channel = NewChannel(state.reloaded_credentials);
    } else {
      state.channel = shared_channel_ ? shared_channel_ : NewChannel(credentials_);
    }
  }
  return state;
}

void RemotePeer::NoteOutcome(const Status& status) {
  runtime::Shard* shard = runtime::Shard::Current();
  if (shard == nullptr) return;
  ShardState& state = shards_.Get(*shard, [] { return std::make_unique<ShardState>(); });
  const bool unreachable = status.code() == StatusCode::kUnavailable;
  if (unreachable == state.unreachable) return;
  state.unreachable = unreachable;
  if (unreachable) {
    observe::Log(observe::LogLevel::kWarn, "percore-server: peer %s (%s) unreachable: %s\n",
                 options_.service.c_str(), target_.c_str(), status.message().c_str());
  } else {
    observe::Log(observe::LogLevel::kInfo, "percore-server: peer %s (%s) reachable again\n",
                 options_.service.c_str(), target_.c_str());
  }
}

void RemotePeer::Close(runtime::Shard& shard) {
  // Without ForShard(): a shard that never called this peer needs no channel now.
  ShardState& state = shards_.Get(shard, [] { return std::make_unique<ShardState>(); });
  state.closed = true;
  state.calls.CancelAll();
}

}  // namespace percore::remote
