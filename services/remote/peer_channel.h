#pragma once
// Threading contract: pure; any thread (the channels it makes are gRPC's, thread-safe).
//
// The one place a channel to another percore process is made, plaintext or over TLS: a --peer's
// (remote_peer.h) and a cluster member's (services/cluster/member_links.h). With credentials
// (--peer-tls-*, built once by services/server/tls_flags.h's LoadPeerCredentials) the callee's
// certificate is checked against `name_address`'s host (a name or an IP address; its port
// ignored), and a client certificate is presented when the flags gave one (mutual TLS).

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>

namespace percore::remote {

// A channel to `target` (a gRPC target: "ipv4:a:1,b:2", "dns:///host:port") with `args`;
// `credentials` nullptr: plaintext.
std::shared_ptr<grpc::Channel> NewPeerChannel(
    const std::string& target, const std::string& name_address,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials, grpc::ChannelArguments args);

}  // namespace percore::remote
