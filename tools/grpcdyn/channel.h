#pragma once
// Threading contract: MakeChannel and WaitForConnection are called from one thread at start-up;
// the channels they return are thread-safe, as every grpc::Channel is.
//
// Channels (plaintext, or TLS with --cacert/--cert/--key) that each get their own TCP
// connection, and a connect step whose error says why the server could not be reached.

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>

#include <chrono>
#include <memory>
#include <string>

#include "tools/grpcdyn/flag_parser.h"
#include "tools/grpcdyn/result.h"

namespace percore::grpcdyn {

// Channels with different `connection_index` values never share a subchannel (and so a TCP
// connection): ghz's --connections promises N connections, and a server that spreads work by
// connection needs them to be distinct.
// `credentials`: nullptr for plaintext (ChannelCredentialsFrom's answer).
std::shared_ptr<grpc::Channel> MakeChannel(
    const std::string& address, int connection_index,
    std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

// The tools' TLS flags (ghz's names): --cacert FILE (trust these PEM CAs; TLS on), --cert and
// --key (a client certificate, for servers that require mutual TLS).
struct TlsFlags {
  std::string cacert;
  std::string cert;
  std::string key;
};
// Registers --cacert, --cert and --key on `parser`, into `flags` (both tools, one wording).
void AddTlsFlags(FlagParser& parser, TlsFlags& flags);
// TLS credentials from the files, or nullptr without --cacert; an error names the flag.
Result<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentialsFrom(const TlsFlags& flags);

// Waits until the channel is READY. When connecting fails it returns gRPC's own reason
// ("...: Connection refused", "DNS resolution failed ...") at once rather than retrying until
// the timeout, because a load run against a wrong address should fail in milliseconds.
Status WaitForConnection(grpc::Channel& channel, const std::string& address,
                         std::chrono::nanoseconds timeout);

}  // namespace percore::grpcdyn
