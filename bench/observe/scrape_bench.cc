// The cost of one /metrics scrape with N shards' worth of series (issue 12: "scrape cost with
// 64 shards' worth of series simulated"): the page core/observe builds and serializes, from
// counters as the shards leave them. Simulated per shard: 32 hosted methods (4 services, every
// code series), 3 peers' grpc_client_* of 8 methods each, the percore_shard_* sample and the
// state samples services/server/state_readers.cc makes (rows and bytes per table, streams,
// reservations, orders by status and code). Not included: the state readers' hop to every shard
// (AdminEndpoint::ReadState posts one task per shard) and the HTTP write.
// Reports time per scrape and, as counters, the page's bytes and lines.
//   build/release/bench/observe/scrape_bench [--benchmark_filter=/64]

#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/observe/exposition.h"
#include "core/observe/state_metrics.h"

namespace percore::observe {
namespace {

constexpr int kServices = 4;
constexpr int kMethodsPerService = 8;
constexpr int kPeers = 3;
constexpr int kPeerMethods = 8;
const char* const kMethodKeys[kServices * kMethodsPerService] = {};  // addresses are the keys

struct Simulated {
  std::vector<std::unique_ptr<GrpcServerShardMetrics>> servers;
  std::vector<std::unique_ptr<GrpcClientMetrics>> peers;
  std::vector<ShardSample> shards;
  std::vector<std::vector<StateSample>> state;

  explicit Simulated(size_t shard_count) {
    for (size_t s = 0; s < shard_count; ++s) {
      auto metrics = std::make_unique<GrpcServerShardMetrics>();
      for (int i = 0; i < kServices * kMethodsPerService; ++i) {
        MethodCounters* c = metrics->Register(
            &kMethodKeys[i],
            MethodLabels{.type = i % kMethodsPerService == 7 ? "server_stream" : "unary",
                         .service = "svc" + std::to_string(i / kMethodsPerService) + ".v1.Service",
                         .method = "Method" + std::to_string(i % kMethodsPerService)});
        c->started.Add();
        c->handled[0].Add();
        c->handling.Observe(40'000 + 1'000 * static_cast<int64_t>(i));
      }
      servers.push_back(std::move(metrics));
      shards.push_back(ShardSample{.shard = static_cast<uint32_t>(s), .tasks_run = 1000 + s});
      std::vector<StateSample> samples;
      for (const char* table : {"users", "products", "reservations", "orders", "payments"}) {
        samples.push_back({StateFamily::kStorageRows, {{"table", table}}, 1000.0 + s});
      }
      for (const char* table : {"users", "products", "orders"}) {
        samples.push_back({StateFamily::kStorageBytes, {{"table", table}}, 110000.0 + s});
      }
      for (const char* method : {"WatchUserUpdates", "WatchOrderUpdates", "ChatSession"}) {
        samples.push_back(
            {StateFamily::kStreamsOpen, {{"grpc_method", method}, {"grpc_service", "svc"}}, 2});
      }
      samples.push_back({StateFamily::kReservationsHeld, {}, 3});
      for (int code = 0; code < 11; ++code) {
        samples.push_back({StateFamily::kOrdersFinished,
                           {{"failure_code", "CODE_" + std::to_string(code)}, {"status", "FAILED"}},
                           static_cast<double>(code)});
      }
      state.push_back(std::move(samples));
    }
    for (int p = 0; p < kPeers; ++p) {
      auto peer = std::make_unique<GrpcClientMetrics>();
      for (int m = 0; m < kPeerMethods; ++m) {
        peer->Register("peer" + std::to_string(p) + ".v1.Service", "Call" + std::to_string(m));
      }
      peer->Start(shard_count);
      for (size_t s = 0; s < shard_count; ++s) {
        for (int m = 0; m < kPeerMethods; ++m) peer->counters(s, m)->started.Add();
      }
      peers.push_back(std::move(peer));
    }
  }

  // What AdminEndpoint does for /metrics, without the hop to the shards and the HTTP write.
  std::string Scrape() const {
    std::vector<const GrpcServerShardMetrics*> server_view;
    for (const auto& m : servers) server_view.push_back(m.get());
    std::vector<const GrpcClientMetrics*> peer_view;
    for (const auto& p : peers) peer_view.push_back(p.get());
    std::vector<prometheus::MetricFamily> families;
    AppendGrpcServerFamilies(server_view, &families);
    AppendGrpcClientFamilies(peer_view, &families);
    AppendShardFamilies(shards, &families);
    AppendStateFamilies(state, &families);
    AppendTraceFamilies(0, 0, &families);
    AppendProcessFamilies(&families);
    return SerializeText(families);
  }
};

void BM_Scrape(benchmark::State& state) {
  Simulated simulated(static_cast<size_t>(state.range(0)));
  size_t bytes = 0;
  size_t lines = 0;
  for (auto _ : state) {
    std::string page = simulated.Scrape();
    bytes = page.size();
    lines = static_cast<size_t>(std::count(page.begin(), page.end(), '\n'));
    benchmark::DoNotOptimize(page.data());
  }
  state.counters["page_bytes"] = static_cast<double>(bytes);
  state.counters["page_lines"] = static_cast<double>(lines);
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
}
BENCHMARK(BM_Scrape)->Arg(1)->Arg(8)->Arg(64)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace percore::observe

BENCHMARK_MAIN();
