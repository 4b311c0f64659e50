#include "core/rpc/admission.h"

#include <algorithm>

#include "core/observe/grpc_server_metrics.h"
#include "core/observe/log.h"
#include "core/runtime/shard.h"

namespace percore::rpc {

ShardAdmission::ShardAdmission(runtime::Shard& shard) : shard_(shard), idle_(shard) {}

runtime::QueueDelayProbe& ShardAdmission::Probe(const CallLimits& limits) {
  if (!probe_) {
    // The limits are the same for every call of a server: the first call's settle them.
    runtime::QueueDelayProbe::Options options;
    options.target = limits.shed_queue_delay;
    options.window = limits.shed_window;
    options.interval = std::max<std::chrono::nanoseconds>(limits.shed_queue_delay / 4,
                                                          std::chrono::milliseconds(1));
    probe_.emplace(shard_, options);
  }
  return *probe_;
}

grpc::Status ShardAdmission::Admit(const CallLimits& limits, const Call& call) {
  grpc::Status verdict = Decide(limits, call);
  if (!verdict.ok()) {
    shard_.Local<observe::GrpcServerShardMetrics>().refused.Add();
    LogRefused(verdict);
  }
  return verdict;
}

void ShardAdmission::LogRefused(const grpc::Status& verdict) {
  ++refused_unlogged_;
  auto now = std::chrono::steady_clock::now();
  if (now - refused_logged_at_ < std::chrono::seconds(1)) return;
  std::string_view code = observe::GrpcCodeName(static_cast<int>(verdict.error_code()));
  observe::Log(
      observe::LogLevel::kWarn, "percore: shard %u refused %llu call(s) (last: %.*s: %s)\n",
      static_cast<unsigned>(shard_.id()), static_cast<unsigned long long>(refused_unlogged_),
      static_cast<int>(code.size()), code.data(), verdict.error_message().c_str());
  refused_unlogged_ = 0;
  refused_logged_at_ = now;
}

grpc::Status ShardAdmission::Decide(const CallLimits& limits, const Call& call) {
  int64_t live = shard_.live_calls();  // this call included
  if (live > limits.max_calls_per_shard) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "server overloaded: too many calls in flight");
  }
  if (call.deadline != std::chrono::system_clock::time_point::max() &&
      call.deadline <= std::chrono::system_clock::now()) {
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                        "deadline passed before the call could start");
  }
  if (!call.exempt) {
    auto fair_from = static_cast<int64_t>(static_cast<double>(limits.max_calls_per_shard) *
                                          limits.fair_share_above);
    if (live > fair_from) {
      auto found = by_peer_.find(call.peer);
      int64_t held = found == by_peer_.end() ? 0 : found->second;
      size_t holders = by_peer_.size() + (found == by_peer_.end() ? 1 : 0);
      // The headroom still free, split among the connections holding calls: a newcomer gets a
      // share of what is left, so however many greedy connections arrive one after another,
      // each takes a smaller slice and some room always remains; a connection holding fewer
      // than min_fair_share calls (a well-behaved client) is admitted up to the hard cap.
      int64_t free = std::max<int64_t>(0, limits.max_calls_per_shard - live + 1);
      int64_t share =
          std::max<int64_t>(limits.min_fair_share, free / static_cast<int64_t>(holders));
      if (held >= share) {
        return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            "server busy: this connection holds " + std::to_string(held) +
                                " calls, its fair share of this shard");
      }
    }
    if (limits.shed_queue_delay.count() > 0) {
      runtime::QueueDelayProbe& probe = Probe(limits);
      probe.Wake();
      if (probe.overloaded(runtime::Clock::now())) {
        return grpc::Status(
            grpc::StatusCode::RESOURCE_EXHAUSTED,
            "server overloaded: calls wait " +
                std::to_string(
                    std::chrono::duration_cast<std::chrono::milliseconds>(probe.last_delay())
                        .count()) +
                " ms to start; retry later");
      }
    }
  }
  ++by_peer_[call.peer];
  return grpc::Status::OK;
}

void ShardAdmission::Release(const std::string& peer) {
  auto found = by_peer_.find(peer);
  if (found == by_peer_.end()) return;
  if (--found->second <= 0) by_peer_.erase(found);
}

int64_t ShardAdmission::held_by(const std::string& peer) const {
  auto found = by_peer_.find(peer);
  return found == by_peer_.end() ? 0 : found->second;
}

}  // namespace percore::rpc
