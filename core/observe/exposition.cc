#include "core/observe/exposition.h"

#include <prometheus/text_serializer.h>

#include <limits>
#include <map>
#include <sstream>
#include <tuple>

namespace percore::observe {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

ClientMetric& Sample(MetricFamily& f, std::vector<ClientMetric::Label> labels) {
  f.metric.emplace_back();
  f.metric.back().label = std::move(labels);
  return f.metric.back();
}

void AddCounter(MetricFamily& f, std::vector<ClientMetric::Label> labels, double value) {
  Sample(f, std::move(labels)).counter.value = value;
}

void AddGauge(MetricFamily& f, std::vector<ClientMetric::Label> labels, double value) {
  Sample(f, std::move(labels)).gauge.value = value;
}

// One method's counters summed over the shards.
struct MethodTotals {
  uint64_t started = 0;
  std::array<uint64_t, kGrpcCodeCount> handled{};
  uint64_t msg_received = 0;
  uint64_t msg_sent = 0;
  std::array<uint64_t, LatencyHistogram::kBuckets> buckets{};
  uint64_t sum_nanos = 0;
};

}  // namespace

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

namespace {

using MethodKey = std::tuple<std::string, std::string, std::string>;  // service, method, type

void Accumulate(const MethodCounters& c, MethodTotals& t) {
  t.started += c.started.value();
  for (int code = 0; code < kGrpcCodeCount; ++code) t.handled[code] += c.handled[code].value();
  t.msg_received += c.msg_received.value();
  t.msg_sent += c.msg_sent.value();
  for (size_t b = 0; b < LatencyHistogram::kBuckets; ++b) t.buckets[b] += c.handling.bucket(b);
  t.sum_nanos += c.handling.sum_nanos();
}

// The help texts of go-grpc-prometheus, server side and client side.
struct FamilyTexts {
  const char* prefix;
  const char* started;
  const char* handled;
  const char* received;
  const char* sent;
  const char* seconds;
};

constexpr FamilyTexts kServerTexts = {
    "grpc_server_",
    "Total number of RPCs started on the server.",
    "Total number of RPCs completed on the server, regardless of success or failure.",
    "Total number of RPC stream messages received on the server.",
    "Total number of gRPC stream messages sent by the server.",
    "Histogram of response latency (seconds) of gRPC that had been application-level handled by "
    "the server."};

constexpr FamilyTexts kClientTexts = {
    "grpc_client_",
    "Total number of RPCs started on the client.",
    "Total number of RPCs completed by the client, regardless of success or failure.",
    "Total number of RPC stream messages received by the client.",
    "Total number of gRPC stream messages sent by the client.",
    "Histogram of response latency (seconds) of the gRPC until it is finished by the "
    "application."};

void AppendGrpcFamilies(const std::map<MethodKey, MethodTotals>& methods, const FamilyTexts& texts,
                        std::vector<MetricFamily>* out) {
  std::string prefix = texts.prefix;
  MetricFamily started = Family(prefix + "started_total", texts.started, MetricType::Counter);
  MetricFamily handled = Family(prefix + "handled_total", texts.handled, MetricType::Counter);
  MetricFamily received =
      Family(prefix + "msg_received_total", texts.received, MetricType::Counter);
  MetricFamily sent = Family(prefix + "msg_sent_total", texts.sent, MetricType::Counter);
  MetricFamily seconds = Family(prefix + "handling_seconds", texts.seconds, MetricType::Histogram);
  for (const auto& [key, t] : methods) {
    const auto& [service, method, type] = key;
    std::vector<ClientMetric::Label> labels = {
        {"grpc_method", method}, {"grpc_service", service}, {"grpc_type", type}};
    AddCounter(started, labels, static_cast<double>(t.started));
    AddCounter(received, labels, static_cast<double>(t.msg_received));
    AddCounter(sent, labels, static_cast<double>(t.msg_sent));
    for (int code = 0; code < kGrpcCodeCount; ++code) {
      std::vector<ClientMetric::Label> with_code = {
          {"grpc_code", std::string(GrpcCodeName(code))}, labels[0], labels[1], labels[2]};
      AddCounter(handled, std::move(with_code), static_cast<double>(t.handled[code]));
    }
    ClientMetric::Histogram& h = Sample(seconds, labels).histogram;
    uint64_t cumulative = 0;
    for (size_t b = 0; b < LatencyHistogram::kBuckets; ++b) {
      cumulative += t.buckets[b];
      double bound = b < LatencyHistogram::kBoundsNanos.size()
                         ? static_cast<double>(LatencyHistogram::kBoundsNanos[b]) / 1e9
                         : std::numeric_limits<double>::infinity();
      h.bucket.push_back({cumulative, bound});
    }
    h.sample_count = cumulative;
    h.sample_sum = static_cast<double>(t.sum_nanos) / 1e9;
  }
  for (MetricFamily* f : {&started, &handled, &received, &sent, &seconds}) {
    out->push_back(std::move(*f));
  }
}

}  // namespace

void AppendGrpcServerFamilies(const std::vector<const GrpcServerShardMetrics*>& shards,
                              std::vector<MetricFamily>* out) {
  std::map<MethodKey, MethodTotals> methods;
  for (const GrpcServerShardMetrics* shard : shards) {
    if (shard == nullptr) continue;
    for (size_t i = 0; i < shard->size(); ++i) {
      const MethodLabels& l = shard->labels(i);
      Accumulate(shard->counters(i), methods[{l.service, l.method, l.type}]);
    }
  }
  AppendGrpcFamilies(methods, kServerTexts, out);
}

void AppendGrpcClientFamilies(const std::vector<const GrpcClientMetrics*>& peers,
                              std::vector<MetricFamily>* out) {
  // Several peers may call one service (a peer per payment replica): their series add up.
  std::map<MethodKey, MethodTotals> methods;
  for (const GrpcClientMetrics* peer : peers) {
    if (peer == nullptr || !peer->started()) continue;
    for (size_t i = 0; i < peer->methods(); ++i) {
      const MethodLabels& l = peer->labels(i);
      MethodTotals& t = methods[{l.service, l.method, l.type}];
      for (size_t shard = 0; shard < peer->shards(); ++shard) {
        Accumulate(peer->counters(shard, i), t);
      }
    }
  }
  AppendGrpcFamilies(methods, kClientTexts, out);
}

void AppendShardFamilies(const std::vector<ShardSample>& shards, std::vector<MetricFamily>* out) {
  MetricFamily tasks = Family("percore_shard_tasks_run_total",
                              "Tasks run from the shard's mailbox.", MetricType::Counter);
  MetricFamily depth = Family("percore_shard_mailbox_depth",
                              "Tasks waiting in the shard's mailbox.", MetricType::Gauge);
  MetricFamily events = Family("percore_shard_events_total",
                               "Completion-queue events the shard handled.", MetricType::Counter);
  MetricFamily in_flight =
      Family("percore_shard_calls_in_flight", "Calls started on the shard and not yet freed.",
             MetricType::Gauge);
  MetricFamily refused =
      Family("percore_shard_calls_refused_total",
             "Calls the shard's admission control refused (overload, fairness, deadline).",
             MetricType::Counter);
  MetricFamily busy = Family(
      "percore_shard_busy_seconds_total",
      "Time the shard's event loop spent outside its wait: running completions, tasks and timers. "
      "Busy ratio: rate(busy) / (rate(busy) + rate(wait)).",
      MetricType::Counter);
  MetricFamily wait =
      Family("percore_shard_wait_seconds_total",
             "Time the shard's event loop spent blocked waiting for work (epoll_wait; on the grpc "
             "transport, the completion queue's AsyncNext, which also runs libgrpc's socket work).",
             MetricType::Counter);
  MetricFamily cpu = Family("percore_shard_cpu_seconds_total",
                            "CPU time used by the shard's thread.", MetricType::Counter);
  for (const ShardSample& s : shards) {
    std::vector<ClientMetric::Label> labels = {{"shard", std::to_string(s.shard)}};
    AddCounter(busy, labels, static_cast<double>(s.busy_nanos) / 1e9);
    AddCounter(wait, labels, static_cast<double>(s.wait_nanos) / 1e9);
    AddCounter(cpu, labels, s.cpu_seconds);
    AddCounter(tasks, labels, static_cast<double>(s.tasks_run));
    AddGauge(depth, labels, static_cast<double>(s.mailbox_depth));
    AddCounter(events, labels, static_cast<double>(s.events));
    AddGauge(in_flight, labels, static_cast<double>(s.calls_in_flight));
    AddCounter(refused, labels, static_cast<double>(s.calls_refused));
  }
  for (MetricFamily* f : {&tasks, &depth, &events, &in_flight, &refused, &busy, &wait, &cpu}) {
    out->push_back(std::move(*f));
  }
}

void AppendTraceFamilies(uint64_t written, uint64_t dropped, std::vector<MetricFamily>* out) {
  MetricFamily w = Family("percore_trace_spans_written_total",
                          "Spans written to the --trace-log file.", MetricType::Counter);
  MetricFamily d = Family("percore_trace_spans_dropped_total",
                          "Spans dropped because a shard's span ring was full (the writer fell "
                          "behind).",
                          MetricType::Counter);
  AddCounter(w, {}, static_cast<double>(written));
  AddCounter(d, {}, static_cast<double>(dropped));
  out->push_back(std::move(w));
  out->push_back(std::move(d));
}

std::string SerializeText(const std::vector<MetricFamily>& families) {
  std::ostringstream text;
  prometheus::TextSerializer().Serialize(text, families);
  return text.str();
}

}  // namespace percore::observe
