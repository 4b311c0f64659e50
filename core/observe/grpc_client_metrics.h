#pragma once
// Threading contract: Register() and Start() on the control thread while the server starts,
// before any shard calls the peer (Start publishes the list with a release store); counters()
// on a shard thread, and each shard's counters are written only by that shard (OwnedCounter:
// load and store, no read-modify-write); the readers on any thread once started() is true.
//
// go-grpc-prometheus's grpc_client_* series for the calls a process makes to one peer
// (services/remote): for every method the client calls, started, handled by code, messages
// sent and received, and the handling time, one set per shard. The methods are registered when
// the client is built, so every method x code series exists (zero) before the first call; the
// per-shard storage is made once the shard count is known (Start). A scrape merges the shards,
// and the peers (exposition.h); nothing is shared between shards on the call path.

#include <atomic>
#include <cassert>
#include <memory>
#include <string>
#include <vector>

#include "core/observe/grpc_server_metrics.h"

namespace percore::observe {

class GrpcClientMetrics {
 public:
  // The id of `service`/`method` (of go-grpc-prometheus's grpc_type `type`), registered once:
  // the same id afterwards.
  size_t Register(const std::string& service, const std::string& method,
                  const char* type = "unary") {
    assert(!started() && "GrpcClientMetrics::Register after Start");
    for (size_t i = 0; i < labels_.size(); ++i) {
      if (labels_[i].service == service && labels_[i].method == method) return i;
    }
    labels_.push_back(MethodLabels{.type = type, .service = service, .method = method});
    return labels_.size() - 1;
  }

  // Makes every shard's counters of every registered method. Once.
  void Start(size_t shards) {
    if (started()) return;
    shards_ = shards;
    counters_ = std::make_unique<MethodCounters[]>(shards * labels_.size());
    started_.store(true, std::memory_order_release);
  }
  bool started() const { return started_.load(std::memory_order_acquire); }

  // This shard's counters of `method`; nullptr before Start() (the call is then not counted).
  MethodCounters* counters(size_t shard, size_t method) {
    if (!started() || shard >= shards_ || method >= labels_.size()) return nullptr;
    return &counters_[shard * labels_.size() + method];
  }

  size_t shards() const { return shards_; }
  size_t methods() const { return labels_.size(); }
  const MethodLabels& labels(size_t method) const { return labels_[method]; }
  const MethodCounters& counters(size_t shard, size_t method) const {
    return counters_[shard * labels_.size() + method];
  }

 private:
  std::vector<MethodLabels> labels_;
  size_t shards_ = 0;
  std::unique_ptr<MethodCounters[]> counters_;  // [shard][method]
  std::atomic<bool> started_{false};
};

}  // namespace percore::observe
