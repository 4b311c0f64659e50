#pragma once
// Threading contract: one ShardAdmission per shard (runtime::Shard::Local), used only on that
// shard's thread. No locks and no atomics shared with other shards: each shard decides alone,
// from its own counts and its own queue's delay.
//
// Whether a new call may start on this shard, in this order:
//   1. the hard cap: at most max_calls_per_shard calls (RESOURCE_EXHAUSTED);
//   2. a deadline already past: DEADLINE_EXCEEDED at once, the handler never runs;
//   3. fairness: past fair_share_above of the cap, a connection (ServerContext::peer(), one per
//      TCP connection) already holding its fair share (the calls still free under the cap over
//      the number of connections holding calls, at least min_fair_share) is refused
//      RESOURCE_EXHAUSTED, so connections holding few calls still find headroom. n greedy
//      connections arriving one after another leave about 1/(n+1) of the headroom free; the
//      number of connections itself is bounded elsewhere (the acceptor's connection cap);
//   4. shedding: while the shard's queueing delay has been over shed_queue_delay for a
//      shed_window (queue_delay_probe.h), new calls are refused RESOURCE_EXHAUSTED at once
//      instead of waiting to miss their deadlines.
// Health checks skip 3 and 4 (a probe must not fail because the server is busy).
// It also holds the shard's idle-stream sweeper (idle_streams.h).

#include <grpcpp/support/status.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/rpc/call_limits.h"
#include "core/rpc/idle_streams.h"
#include "core/runtime/queue_delay_probe.h"

namespace percore::runtime {
class Shard;
}

namespace percore::rpc {

class ShardAdmission {
 public:
  explicit ShardAdmission(runtime::Shard& shard);
  ShardAdmission(const ShardAdmission&) = delete;
  ShardAdmission& operator=(const ShardAdmission&) = delete;

  struct Call {
    const std::string& peer;
    std::chrono::system_clock::time_point deadline;
    bool exempt;  // health checks: not subject to fairness or shedding
  };
  // OK (the call is counted against its peer until Release) or the status to refuse it with.
  grpc::Status Admit(const CallLimits& limits, const Call& call);
  void Release(const std::string& peer);

  IdleStreams& idle_streams() { return idle_; }
  // Calls held by `peer` on this shard (tests and diagnostics).
  int64_t held_by(const std::string& peer) const;
  size_t peers() const { return by_peer_.size(); }

 private:
  grpc::Status Decide(const CallLimits& limits, const Call& call);  // Admit without the count
  runtime::QueueDelayProbe& Probe(const CallLimits& limits);
  // Logs refusals (issue 12's structured logs): at most one line a second per shard, with the
  // count since the last line, so an overload cannot flood the log.
  void LogRefused(const grpc::Status& verdict);

  runtime::Shard& shard_;
  std::unordered_map<std::string, int64_t> by_peer_;
  IdleStreams idle_;
  std::optional<runtime::QueueDelayProbe> probe_;
  uint64_t refused_unlogged_ = 0;
  std::chrono::steady_clock::time_point refused_logged_at_{};
};

}  // namespace percore::rpc
