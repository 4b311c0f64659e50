#include "core/runtime/shard.h"

#include <grpc/support/time.h>
#include <grpcpp/alarm.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "core/observe/log.h"
#include "core/observe/metrics_build.h"
#include "core/runtime/completion_tag.h"
#include "core/runtime/runtime.h"

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

// The eventfd both mailboxes of an epoll-mode shard wake. Reading it resets it; the mailboxes'
// own flags make a burst of pushes cost one write.
struct Shard::WakeFd final : FdHandler {
  explicit WakeFd(Shard* s) : shard(s), fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd < 0) {
      std::perror("percore: eventfd");
      std::abort();
    }
  }
  ~WakeFd() { close(fd); }
  void Signal() const {
    uint64_t one = 1;
    // Fails only when the counter would overflow, i.e. it is already signalled.
    [[maybe_unused]] ssize_t written = write(fd, &one, sizeof one);
  }
  void OnFdReady(uint32_t) override {
    uint64_t count = 0;
    [[maybe_unused]] ssize_t got = read(fd, &count, sizeof count);
    shard->cq_events_->Drain(kMailboxBudget);
    shard->mailbox_.Drain(kMailboxBudget);
  }
  Shard* shard;
  int fd;
};

// One completion-queue event forwarded by the pump thread, completed on the shard thread.
struct Shard::CqEvent final : Task {
  CqEvent(Shard* s, CompletionTag* t, bool o) : shard(s), tag(t), ok(o) {}
  void Run() override {
    shard->events_.fetch_add(1, std::memory_order_relaxed);
    tag->Complete(ok);
  }
  Shard* shard;
  CompletionTag* tag;
  bool ok;
};

Shard::Shard(Runtime& runtime, ShardId id, LoopMode mode)
    : runtime_(runtime), id_(id), mode_(mode), mailbox_([this] { Wake(); }) {
  if (mode_ == LoopMode::kEpoll) {
    poller_ = std::make_unique<Poller>();
    wake_fd_ = std::make_unique<WakeFd>(this);
    cq_events_ = std::make_unique<Mailbox>([this] { wake_fd_->Signal(); });
    if (!poller_->Add(wake_fd_->fd, Poller::kReadable, wake_fd_.get())) {
      std::perror("percore: epoll_ctl(eventfd)");
      std::abort();
    }
  }
}

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
  if (wake_fd_) {
    wake_fd_->Signal();
    return;
  }
  auto* wake = new WakeAlarm(this);
  // An already-past deadline fires at once; "now" would be rounded up to the next millisecond
  // tick of gRPC's timer (measured: ~1.1 ms per wake-up instead of ~1 us).
  wake->alarm.Set(cq_.get(), gpr_inf_past(GPR_CLOCK_MONOTONIC), &wake->tag);
}

Clock::time_point Shard::BeforeWait() {
  if (PERCORE_METRICS_BUILT_OUT) return {};  // -Dmetrics=false: no busy time
  Clock::time_point now = Clock::now();
  busy_nanos_.store(busy_nanos_.load(std::memory_order_relaxed) +
                        static_cast<uint64_t>((now - turn_end_).count()),
                    std::memory_order_relaxed);
  return now;
}

Clock::time_point Shard::AfterWait(Clock::time_point wait_began) {
  if (PERCORE_METRICS_BUILT_OUT) return Clock::now();  // the timers' clock only
  turn_end_ = Clock::now();
  wait_nanos_.store(wait_nanos_.load(std::memory_order_relaxed) +
                        static_cast<uint64_t>((turn_end_ - wait_began).count()),
                    std::memory_order_relaxed);
  return turn_end_;
}

double Shard::cpu_seconds() const {
  int64_t clock = cpu_clock_.load(std::memory_order_acquire);
  timespec ts{};
  // A thread that has just exited makes this fail (EINVAL): the figure is then 0.
  if (clock == kNoCpuClock || clock_gettime(static_cast<clockid_t>(clock), &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
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
    observe::SetLogShard(static_cast<int>(id_));  // its log lines say which shard
    clockid_t clock;
    if (pthread_getcpuclockid(pthread_self(), &clock) == 0) {
      cpu_clock_.store(static_cast<int64_t>(clock), std::memory_order_release);
    }
    if (runtime_.options().on_thread_start) runtime_.options().on_thread_start(*this);
    turn_end_ = Clock::now();
    if (mode_ == LoopMode::kEpoll) {
      EpollLoop();
    } else {
      Loop();
    }
    cpu_clock_.store(kNoCpuClock, std::memory_order_release);
  });
}

void Shard::StartPump() {
  pump_ = std::thread([this] {
    char name[16];
    std::snprintf(name, sizeof(name), "cqpump-%u", id_);
    pthread_setname_np(pthread_self(), name);
    void* tag = nullptr;
    bool ok = false;
    // Blocks in the queue (no polling). Every event, the shutdown ones included, completes on
    // the shard thread; the marker tells the shard the queue is drained.
    while (cq_->Next(&tag, &ok)) {
      cq_events_->Push(std::make_unique<CqEvent>(this, static_cast<CompletionTag*>(tag), ok));
    }
    cq_events_->Push(MakeTask([this] { cq_drained_ = true; }));
  });
}

void Shard::EpollLoop() {
  current_shard = this;
  StartPump();
  while (!cq_drained_) {
    int timeout_ms = -1;
    std::optional<Clock::time_point> next = timers_.next_deadline();
    if (next) {
      auto remaining = *next - Clock::now();
      // Rounded up: woken before the deadline, the loop would spin until it passes. Capped (an
      // int of milliseconds overflows at ~24 days); waking early just waits again.
      int64_t ms = std::chrono::ceil<std::chrono::milliseconds>(remaining).count();
      timeout_ms = remaining <= Clock::duration::zero()
                       ? 0
                       : static_cast<int>(std::min<int64_t>(ms, 3'600'000));
    }
    Clock::time_point wait_began = BeforeWait();
    const std::chrono::microseconds idle_poll = runtime_.options().idle_poll;
    if (idle_poll.count() > 0 && timeout_ms != 0) {
      // Poll before sleeping (RuntimeOptions::idle_poll), no later than the next timer.
      Clock::time_point poll_until = wait_began + idle_poll;
      if (next && *next < poll_until) poll_until = *next;
      while (poller_->Wait(0) == 0 && Clock::now() < poll_until) {
      }
      // Something was ready (its handlers ran) or the window passed: sleep only in the latter.
      if (Clock::now() < poll_until) timeout_ms = 0;
    }
    poller_->Wait(timeout_ms);
    Clock::time_point now = AfterWait(wait_began);
    if (next) timers_.RunDue(now);
    poller_->RunDeferred();
  }
  pump_.join();
  cq_events_->Drain(SIZE_MAX);
  mailbox_.Drain(SIZE_MAX);
  poller_->RunDeferred();
  current_shard = nullptr;
}

void Shard::Loop() {
  current_shard = this;
  for (;;) {
    void* tag = nullptr;
    bool ok = false;
    std::optional<Clock::time_point> next = timers_.next_deadline();
    gpr_timespec deadline = next ? GprDeadline(*next) : gpr_inf_future(GPR_CLOCK_MONOTONIC);
    Clock::time_point wait_began = BeforeWait();
    grpc::CompletionQueue::NextStatus status = cq_->AsyncNext(&tag, &ok, deadline);
    AfterWait(wait_began);
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
