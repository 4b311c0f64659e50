// Cross-shard work through real shards (gRPC completion queues, Alarm wake-ups): the latency of
// a Hop round trip and the throughput of SubmitTo. Every UserService call that touches a row or
// an email on another shard pays one Hop per step, so this is the per-step floor under every
// multi-shard request.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <future>

#include "core/runtime/runtime.h"

namespace percore::runtime {
namespace {

// Two shards, floating rather than pinned: the benchmark shares a small machine with other
// work (the tests do the same).
RuntimeOptions TwoShards() { return RuntimeOptions{.shards = 2, .pin = false}; }

uint64_t EventsHandled(Runtime& runtime) {
  uint64_t total = 0;
  for (ShardId i = 0; i < runtime.size(); ++i) total += runtime.shard(i).events_handled();
  return total;
}

// A chain of hops driven from shard 0: work on shard 1, continuation back on shard 0, which
// starts the next hop. Touched only on shard 0 once started.
struct HopChain {
  Runtime& runtime;
  int64_t left;
  std::promise<void> done;

  void Next() {
    if (left-- == 0) {
      done.set_value();
      return;
    }
    runtime.Hop(
        1, [] { return 1; }, [this](int) { Next(); });
  }
};

// Time per iteration = one round trip shard 0 -> shard 1 -> shard 0 (two mailbox pushes, each
// usually waking a shard that sleeps in AsyncNext with a fresh grpc::Alarm). The chain runs in
// batches of 1000; the benchmark thread only waits for each batch's promise.
void BM_Runtime_HopRoundTrip(benchmark::State& state) {
  constexpr int64_t kBatch = 1000;
  Runtime runtime(TwoShards());
  runtime.Start();
  uint64_t events_before = EventsHandled(runtime);
  while (state.KeepRunningBatch(kBatch)) {
    HopChain chain{runtime, kBatch, {}};
    std::future<void> done = chain.done.get_future();
    runtime.SubmitTo(0, [&chain] { chain.Next(); });
    done.wait();
  }
  uint64_t events = EventsHandled(runtime) - events_before;
  runtime.Stop();
  state.SetItemsProcessed(state.iterations());
  state.counters["cq_events_per_round_trip"] =
      static_cast<double>(events) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Runtime_HopRoundTrip)->UseRealTime();

// Throughput of SubmitTo from a non-shard thread to one shard: batches of 1000 tiny tasks, the
// last of which fulfils the batch's promise. A shard that keeps up wakes once per drain, so
// cq_events_per_task shows how well bursts coalesce.
void BM_Runtime_SubmitTo(benchmark::State& state) {
  constexpr int64_t kBatch = 1000;
  Runtime runtime(TwoShards());
  runtime.Start();
  uint64_t counter = 0;  // shard 0 only
  uint64_t events_before = EventsHandled(runtime);
  while (state.KeepRunningBatch(kBatch)) {
    std::promise<void> done;
    for (int64_t i = 0; i < kBatch - 1; ++i) runtime.SubmitTo(0, [&counter] { ++counter; });
    runtime.SubmitTo(0, [&] {
      ++counter;
      done.set_value();
    });
    done.get_future().wait();
  }
  uint64_t events = EventsHandled(runtime) - events_before;
  runtime.Stop();
  benchmark::DoNotOptimize(counter);
  state.SetItemsProcessed(state.iterations());
  state.counters["cq_events_per_task"] =
      static_cast<double>(events) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Runtime_SubmitTo)->UseRealTime();

// One task, then wait for it: the latency of reaching a sleeping shard from outside (Alarm
// wake-up plus a promise), what ServerHost::RunOnAllAndWait and tests pay per call.
void BM_Runtime_SubmitToAndWait(benchmark::State& state) {
  Runtime runtime(TwoShards());
  runtime.Start();
  for (auto _ : state) {
    std::promise<void> done;
    runtime.SubmitTo(0, [&done] { done.set_value(); });
    done.get_future().wait();
  }
  runtime.Stop();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Runtime_SubmitToAndWait)->UseRealTime();

}  // namespace
}  // namespace percore::runtime

// The one main() of runtime_bench (mailbox_bench.cc registers into it).
BENCHMARK_MAIN();
