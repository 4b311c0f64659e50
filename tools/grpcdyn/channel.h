#pragma once
// Threading contract: MakeChannel and WaitForConnection are called from one thread at start-up;
// the channels they return are thread-safe, as every grpc::Channel is.
//
// Insecure channels (the tools speak plaintext only) that each get their own TCP connection,
// and a connect step whose error says why the server could not be reached.

#include <grpcpp/channel.h>

#include <chrono>
#include <memory>
#include <string>

#include "tools/grpcdyn/result.h"

namespace percore::grpcdyn {

// Channels with different `connection_index` values never share a subchannel (and so a TCP
// connection): ghz's --connections promises N connections, and a server that spreads work by
// connection needs them to be distinct.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, int connection_index);

// Waits until the channel is READY. When connecting fails it returns gRPC's own reason
// ("...: Connection refused", "DNS resolution failed ...") at once rather than retrying until
// the timeout, because a load run against a wrong address should fail in milliseconds.
Status WaitForConnection(grpc::Channel& channel, const std::string& address,
                         std::chrono::nanoseconds timeout);

}  // namespace percore::grpcdyn
