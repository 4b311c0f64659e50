#include "core/runtime/shard.h"

#include <grpc/support/time.h>
#include <grpcpp/alarm.h>
#include <pthread.h>
#include <sched.h>

#include <cstdio>

#include "core/runtime/completion_tag.h"

namespace percore::runtime {
namespace {
thread_local Shard* current_shard = nullptr;

// How many mailbox tasks run per wake-up before the shard looks at its queue again.
constexpr size_t kMailboxBudget = 256;

gpr_timespec GprDeadline(Clock::time_point deadline) {
  auto remaining = deadline - Clock::now();
  if (remaining < Clock::duration::zero()) remaining = Clock::duration::zero();
  return gpr_time_add(
      gpr_now(GPR_CLOCK_MONOTONIC),
      gpr_time_from_nanos(std::chrono::duration_cast<std::chrono::nanoseconds>(remaining).count(),
                          GPR_TIMESPAN));
}
}  // namespace

struct Shard::WakeAlarm {
  explicit WakeAlarm(Shard* s) : shard(s) {}
  static void Fired(void* self, bool /*ok*/) {
    // ok is false only if the alarm was cancelled, which never happens: either way, drain.
    auto* wake = static_cast<WakeAlarm*>(self);
    Shard* shard = wake->shard;
    delete wake;
    shard->mailbox_.Drain(kMailboxBudget);
  }
  Shard* shard;
  CompletionTag tag{&Fired, this};
  grpc::Alarm alarm;
};

Shard::Shard(Runtime& runtime, ShardId id)
    : runtime_(runtime), id_(id), mailbox_([this] { Wake(); }) {}

Shard::~Shard() {
  Join();
  if (cq_ && cq_open_) {
    // The thread never ran (or never closed the queue): shut it down and drain it here, since
    // destroying an undrained completion queue asserts.
    mailbox_.Close();
    timers_.Clear();
    cq_open_ = false;
    cq_->Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq_->Next(&tag, &ok)) static_cast<CompletionTag*>(tag)->Complete(ok);
    mailbox_.Drain(SIZE_MAX);
  }
}

Shard* Shard::Current() { return current_shard; }

size_t Shard::NextLocalIndex() {
  // Once per type T of Local<T>(), at its first use: never on the request path.
  static std::atomic<size_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed);
}

void Shard::UsePlainQueue() { cq_ = std::make_unique<grpc::CompletionQueue>(); }

void Shard::UseServerQueue(std::unique_ptr<grpc::ServerCompletionQueue> cq) {
  server_cq_ = cq.get();
  cq_ = std::move(cq);
}

void Shard::Wake() {
  auto* wake = new WakeAlarm(this);
  // An already-past deadline fires at once; "now" would be rounded up to the next millisecond
  // tick of gRPC's timer (measured: ~1.1 ms per wake-up instead of ~1 us).
  wake->alarm.Set(cq_.get(), gpr_inf_past(GPR_CLOCK_MONOTONIC), &wake->tag);
}

TimerId Shard::RunAfter(std::chrono::nanoseconds delay, std::function<void()> fn) {
  return timers_.Add(Clock::now() + delay, std::move(fn));
}

void Shard::StartThread(int cpu) {
  thread_ = std::thread([this, cpu] {
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      // Pinning is best effort: a container may forbid it; the shard then floats.
      pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    }
    char name[16];
    std::snprintf(name, sizeof(name), "shard-%u", id_);
    pthread_setname_np(pthread_self(), name);
    Loop();
  });
}

void Shard::Loop() {
  current_shard = this;
  for (;;) {
    void* tag = nullptr;
    bool ok = false;
    std::optional<Clock::time_point> next = timers_.next_deadline();
    gpr_timespec deadline = next ? GprDeadline(*next) : gpr_inf_future(GPR_CLOCK_MONOTONIC);
    grpc::CompletionQueue::NextStatus status = cq_->AsyncNext(&tag, &ok, deadline);
    if (status == grpc::CompletionQueue::SHUTDOWN) break;
    if (status == grpc::CompletionQueue::GOT_EVENT) {
      events_.fetch_add(1, std::memory_order_relaxed);
      static_cast<CompletionTag*>(tag)->Complete(ok);
    }
    if (next) timers_.RunDue(Clock::now());
  }
  // The queue is drained. Tasks that arrived before the mailbox closed still run (they release
  // what they hold on this thread); they can no longer start gRPC operations (cq_open_ is false).
  mailbox_.Drain(SIZE_MAX);
  current_shard = nullptr;
}

void Shard::CloseOnThread() {
  // Order matters: no producer may set a wake alarm on a queue that is shutting down.
  mailbox_.Close();
  timers_.Clear();
  cq_open_ = false;
  cq_->Shutdown();
}

void Shard::RequestClose() {
  if (!thread_.joinable()) return;
  if (!Submit([this] { CloseOnThread(); })) return;  // already closing
}

void Shard::Join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace percore::runtime
