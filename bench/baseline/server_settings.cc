#include "bench/baseline/server_settings.h"

#include <grpc/grpc.h>

namespace percore::baseline {
namespace {

// percore-server's defaults (core/rpc/server_host.h, ServerOptions).
constexpr int kMaxMessageBytes = 4 * 1024 * 1024;
constexpr int kMaxConcurrentStreams = 1024;
constexpr int kMaxConnectionAgeMs = 30 * 60 * 1000;
constexpr int kMaxConnectionAgeGraceMs = 5 * 60 * 1000;
constexpr int kKeepaliveMinPingIntervalMs = 10 * 1000;
constexpr int kKeepaliveMaxPingStrikes = 2;

}  // namespace

void ApplyServerSettings(grpc::ServerBuilder& builder) {
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, kMaxConnectionAgeMs);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, kMaxConnectionAgeGraceMs);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             kKeepaliveMinPingIntervalMs);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, kKeepaliveMaxPingStrikes);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
}

}  // namespace percore::baseline
