#pragma once
// Threading contract: immutable once the server starts; read from every shard.

#include <cstddef>
#include <cstdint>

namespace percore::rpc {

struct CallLimits {
  // Requests kept posted per method per shard, so a burst of new calls never waits for a
  // re-post (gRPC issue 6504: one posted request caps throughput).
  int requests_per_method = 32;
  // Messages a stream may queue beyond the one in flight; Write() says "full" past that.
  size_t stream_queue_messages = 64;
  // Calls a shard serves at once; more are answered RESOURCE_EXHAUSTED (admission control is
  // the application's job with the async API).
  int64_t max_calls_per_shard = 50000;
  // Largest message a call accepts (set from ServerOptions::max_message_bytes). gRPC enforces
  // it too, except with the minimal stack; the calls check it either way.
  size_t max_message_bytes = 4 * 1024 * 1024;
};

}  // namespace percore::rpc
