#pragma once
// Threading contract: immutable once the server starts; read from every shard.

#include <chrono>
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

  // Fair admission (admission.h). Past this fraction of max_calls_per_shard, a connection that
  // already holds its fair share of the shard's calls (the calls still free under the cap
  // divided among the connections holding calls, and never less than min_fair_share) is
  // refused, so greedy clients cannot take the headroom the others need.
  double fair_share_above = 0.5;
  int64_t min_fair_share = 8;
  // A client- or bidi-streaming call on which nothing was received or sent for this long, while
  // the server waits for the client's messages, is ended with DEADLINE_EXCEEDED. Server streams
  // (watches waiting for events) are exempt. Zero: never.
  std::chrono::milliseconds stream_idle_timeout{std::chrono::minutes(5)};
  // Load shedding by queueing delay (runtime/queue_delay_probe.h): while work has waited longer
  // than this in the shard's queue for a whole shed_window, new calls are refused at once with
  // RESOURCE_EXHAUSTED (health checks excepted). Zero: off.
  // The window is long enough that a legitimate burst (a thousand streams opened at once on a
  // busy test machine queue for tens of ms) is not taken for overload.
  std::chrono::milliseconds shed_queue_delay{50};
  std::chrono::milliseconds shed_window{1000};
  // --health-listen on libgrpc: how a call that came in on the health port is told from one on
  // the main port, by gRPC's name for its connection (ServerContext::peer()): connections
  // percore's acceptor hands over (AddInsecureChannelFromFd) are named "fd:N", those gRPC's own
  // listener accepted "ipv4:..." / "ipv6:...". ServerHost puts the health port on whichever
  // listener the main port does not use. kNone: no health port.
  enum class HealthPeers : uint8_t { kNone, kFdNamed, kAddressNamed };
  HealthPeers health_peers = HealthPeers::kNone;
};

}  // namespace percore::rpc
