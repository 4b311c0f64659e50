#pragma once
// Threading contract: one GrpcServerShardMetrics per shard (runtime::Shard::Local). Register()
// and every counter's Add() only on that shard's thread; Register() only while the server
// starts (ServerHost::Start, before the shard serves), so that the readers, which may run on any
// thread once Start() has returned, see a fixed list. The counters are OwnedCounters: written by
// their shard with a plain load and store, read anywhere.
//
// The per-shard store of go-grpc-prometheus's server series: for every hosted method, started,
// handled by code, messages received and sent, and the handling-time histogram. Each method's
// counters are made at registration, so every method x code series exists (zero) before the
// first call, as grpc-ecosystem's InitializeMetrics does. A scrape merges the shards
// (metrics_text.h); nothing is shared between shards on the request path.

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/observe/latency_histogram.h"
#include "core/observe/owned_counter.h"

namespace percore::runtime {
class Shard;
}

namespace percore::observe {

inline constexpr int kGrpcCodeCount = 17;

// grpc-go's names of the status codes (codes.Code.String()), the grpc_code label's values.
inline std::string_view GrpcCodeName(int code) {
  static constexpr std::array<std::string_view, kGrpcCodeCount> kNames = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  return code >= 0 && code < kGrpcCodeCount ? kNames[code] : "Unknown";
}

struct MethodCounters {
  OwnedCounter started;
  std::array<OwnedCounter, kGrpcCodeCount> handled;  // by status code
  OwnedCounter msg_received;
  OwnedCounter msg_sent;
  LatencyHistogram handling;
};

struct MethodLabels {
  std::string
      type;  // go-grpc-prometheus's grpc_type: unary, client_stream, server_stream, bidi_stream
  std::string service;
  std::string method;
};

class GrpcServerShardMetrics {
 public:
  GrpcServerShardMetrics() = default;
  explicit GrpcServerShardMetrics(runtime::Shard& /*shard*/) {}  // for Shard::Local
  GrpcServerShardMetrics(const GrpcServerShardMetrics&) = delete;
  GrpcServerShardMetrics& operator=(const GrpcServerShardMetrics&) = delete;

  // The counters of the method `key` identifies (its binding, the same on every shard): made on
  // the first call, the same object afterwards. Shard thread, during start-up only.
  MethodCounters* Register(const void* key, MethodLabels labels) {
    for (auto& m : methods_) {
      if (m->key == key) return &m->counters;
    }
    methods_.push_back(std::make_unique<Method>(key, std::move(labels)));
    return &methods_.back()->counters;
  }

  // Calls admission control refused on this shard (core/rpc/admission.h): they never reach a
  // method, so they are not in started/handled.
  OwnedCounter refused;

  size_t size() const { return methods_.size(); }
  const MethodLabels& labels(size_t i) const { return methods_[i]->labels; }
  const MethodCounters& counters(size_t i) const { return methods_[i]->counters; }

 private:
  struct Method {
    Method(const void* k, MethodLabels l) : key(k), labels(std::move(l)) {}
    const void* key;
    MethodLabels labels;
    MethodCounters counters;
  };
  std::vector<std::unique_ptr<Method>> methods_;  // stable addresses: calls hold pointers
};

}  // namespace percore::observe
