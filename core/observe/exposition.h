#pragma once
// Threading contract: pure functions over snapshots and read-only counters; any thread (the
// admin listener's). The counters they read are OwnedCounters (owned_counter.h), so a scrape
// never stops or locks a shard.
//
// The Prometheus text exposition (format 0.0.4) of percore's series, built as prometheus-cpp
// MetricFamily values and written by its TextSerializer (escaping, +Inf, the format's layout).
// What prometheus-cpp cannot do, the per-shard store and its merge, is ours (README.md).

#include <prometheus/metric_family.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/observe/grpc_client_metrics.h"
#include "core/observe/grpc_server_metrics.h"

namespace percore::observe {

inline constexpr const char* kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

// One shard's runtime figures, read by the caller from its Shard.
struct ShardSample {
  uint32_t shard = 0;
  uint64_t tasks_run = 0;      // mailbox tasks run
  uint64_t mailbox_depth = 0;  // tasks waiting
  uint64_t events = 0;         // completion-queue events handled
  int64_t calls_in_flight = 0;
  uint64_t calls_refused = 0;  // by admission control
  uint64_t busy_nanos = 0;     // the loop outside its wait (running tags, tasks, timers)
  uint64_t wait_nanos = 0;     // the loop blocked in its wait (completion queue or epoll)
  double cpu_seconds = 0;      // the shard thread's CPU time
};

// go-grpc-prometheus's grpc_server_* families, every method summed over the shards; each
// hosted method has its started and handled-by-every-code series from the start (zero).
void AppendGrpcServerFamilies(const std::vector<const GrpcServerShardMetrics*>& shards,
                              std::vector<prometheus::MetricFamily>* out);
// go-grpc-prometheus's grpc_client_* families for the calls to peers, every method summed over
// the shards and over the peers that call the same service; each registered method has its
// started and handled-by-every-code series from the start (zero).
void AppendGrpcClientFamilies(const std::vector<const GrpcClientMetrics*>& peers,
                              std::vector<prometheus::MetricFamily>* out);
// percore_shard_* families, label shard.
void AppendShardFamilies(const std::vector<ShardSample>& shards,
                         std::vector<prometheus::MetricFamily>* out);
// percore_trace_spans_{written,dropped}_total of --trace-log (tracer.h).
void AppendTraceFamilies(uint64_t written, uint64_t dropped,
                         std::vector<prometheus::MetricFamily>* out);
// The Prometheus client libraries' process_* families (Linux /proc).
void AppendProcessFamilies(std::vector<prometheus::MetricFamily>* out);

std::string SerializeText(const std::vector<prometheus::MetricFamily>& families);

// An empty family (no samples yet): its name, help text and type. For anyone who adds families.
prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type);

}  // namespace percore::observe
