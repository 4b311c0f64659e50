#pragma once
// Threading contract: call on the thread building the server, before BuildAndStart.
//
// The builder settings percore-server uses by default (core/rpc/server_host.cc), so the
// comparison measures the serving style, not different limits: 4 MiB messages each way, 1024
// streams per connection, the same keepalive enforcement and maximum connection age, and
// SO_REUSEPORT off. Compression is left at gRPC's default, none, as percore does: setting a
// default level explicitly would make gRPC add compression metadata to every call.

#include <grpcpp/server_builder.h>

namespace percore::baseline {

void ApplyServerSettings(grpc::ServerBuilder& builder);

}  // namespace percore::baseline
