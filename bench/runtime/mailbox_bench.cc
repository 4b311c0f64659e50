// The shard mailbox on its own (no gRPC): what one task costs to send and run, alone and with a
// producer on another thread. Every cross-shard step (SubmitTo, each half of a Hop, a watcher's
// event) is one of these, so this is the floor under all of them.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "core/runtime/mailbox.h"

namespace percore::runtime {
namespace {

// One push and one drain on the same thread: task allocation, the producer's atomics and the
// virtual Run, with no cache line crossing cores.
void BM_Mailbox_PushPop(benchmark::State& state) {
  uint64_t wakes = 0;
  Mailbox mailbox([&] { ++wakes; });
  uint64_t ran = 0;
  for (auto _ : state) {
    mailbox.Push(MakeTask([&ran] { ++ran; }));
    mailbox.Drain(1);
  }
  benchmark::DoNotOptimize(ran);
  state.SetItemsProcessed(state.iterations());
  state.counters["wakes_per_task"] =
      static_cast<double>(wakes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Mailbox_PushPop);

// A burst of 256 pushes, then one drain of 256 (the shard's budget): the coalesced case.
void BM_Mailbox_PushBurstThenDrain(benchmark::State& state) {
  constexpr int kBurst = 256;
  uint64_t wakes = 0;
  Mailbox mailbox([&] { ++wakes; });
  uint64_t ran = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBurst; ++i) mailbox.Push(MakeTask([&ran] { ++ran; }));
    mailbox.Drain(kBurst);
  }
  benchmark::DoNotOptimize(ran);
  state.SetItemsProcessed(state.iterations() * kBurst);
  state.counters["wakes_per_task"] =
      static_cast<double>(wakes) / static_cast<double>(state.iterations() * kBurst);
}
BENCHMARK(BM_Mailbox_PushBurstThenDrain);

// state.range(0) producer threads push as fast as they can (at most kInFlight tasks ahead of
// the consumer, so memory stays bounded). The benchmark thread is the consumer and behaves like
// a shard: it sleeps until the mailbox wakes it (a futex here, an Alarm on a real shard), then
// drains with the shard's budget of 256. One iteration = one wake-up and drain; read
// items_per_second (tasks/s). tasks_per_wake tells the regime of a run: a consumer that keeps
// up is woken every few tasks (each wake a futex syscall paid by a producer), a lagging one
// drains full budgets. On a 2-CPU machine, 1 producer plus the consumer fill it; 2 producers
// oversubscribe it.
void BM_Mailbox_CrossThread(benchmark::State& state) {
  constexpr uint64_t kInFlight = 4096;
  const int producers = static_cast<int>(state.range(0));
  std::atomic<uint64_t> wakes{0};
  Mailbox mailbox([&] {
    wakes.fetch_add(1, std::memory_order_release);
    wakes.notify_one();
  });
  uint64_t ran = 0;                   // consumer only (tasks run there)
  std::atomic<uint64_t> consumed{0};  // `ran`, published once per drain
  std::atomic<uint64_t> produced{0};
  std::atomic<bool> stop{false};

  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        if (produced.load(std::memory_order_relaxed) - consumed.load(std::memory_order_relaxed) >=
            kInFlight) {
          std::this_thread::yield();
          continue;
        }
        produced.fetch_add(1, std::memory_order_relaxed);
        mailbox.Push(MakeTask([&ran] { ++ran; }));
      }
    });
  }

  uint64_t seen = 0;
  for (auto _ : state) {
    wakes.wait(seen, std::memory_order_acquire);
    seen = wakes.load(std::memory_order_acquire);
    mailbox.Drain(256);
    consumed.store(ran, std::memory_order_relaxed);
  }
  const uint64_t measured = ran;
  stop.store(true);
  for (auto& t : threads) t.join();
  while (mailbox.Drain(SIZE_MAX) > 0) {
  }
  state.SetItemsProcessed(static_cast<int64_t>(measured));
  state.counters["tasks_per_wake"] =
      static_cast<double>(measured) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Mailbox_CrossThread)->Arg(1)->Arg(2)->UseRealTime();

}  // namespace
}  // namespace percore::runtime
