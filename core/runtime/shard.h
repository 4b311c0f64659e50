#pragma once
// Threading contract: a Shard is one thread. Submit() may be called from any thread; everything
// else (timers, draining(), cq_open(), the call accounting's writers) only from the shard's own
// thread, found with Shard::Current().
//
// A Shard owns one gRPC completion queue and polls it with AsyncNext, waking up for its earliest
// timer. Other threads reach it through its Mailbox; a push wakes the queue with a fresh
// grpc::Alarm set to "now" (an Alarm is not thread-safe, so each wake-up has its own, freed when
// its tag is delivered). Data owned by a shard is only touched on that thread, so it needs no
// locks (Seastar's shared-nothing shards).
//
// LoopMode::kEpoll (chosen per Runtime) is the loop of percore's own transport (core/net): the
// shard blocks in epoll_wait (until its earliest timer), a mailbox push writes the shard's
// eventfd, and fds registered through poller() run their handlers on the shard thread. libgrpc's
// completion queue has no fd to poll, yet peers stay on libgrpc channels: a per-shard pump thread
// blocks in cq()->Next() and forwards each (tag, ok) through a second mailbox, so tags still
// complete on the shard thread. Shutdown: the task mailbox closes, timers are cleared, the queue
// is shut down; the pump forwards what is left and a last marker, then is joined.

#include <grpcpp/completion_queue.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "core/runtime/mailbox.h"
#include "core/runtime/poller.h"
#include "core/runtime/task.h"
#include "core/runtime/timer_queue.h"

namespace percore::runtime {

using ShardId = uint32_t;
class Runtime;

enum class LoopMode {
  kCompletionQueue,  // block in the completion queue's AsyncNext (libgrpc transport)
  kEpoll,            // block in epoll_wait; the completion queue through a pump thread
};

class Shard {
 public:
  Shard(Runtime& runtime, ShardId id, LoopMode mode = LoopMode::kCompletionQueue);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // The shard whose thread is running, or nullptr off shard threads.
  static Shard* Current();

  ShardId id() const { return id_; }
  Runtime& runtime() { return runtime_; }
  grpc::CompletionQueue* cq() { return cq_.get(); }
  // The queue gRPC delivers new calls on; nullptr when the runtime runs without a server.
  grpc::ServerCompletionQueue* server_cq() { return server_cq_; }

  LoopMode loop_mode() const { return mode_; }
  // The shard's fd watchers: nullptr unless LoopMode::kEpoll. Shard thread only.
  Poller* poller() { return poller_.get(); }

  // Any thread. False when the shard is closed (the task is destroyed on the calling thread).
  bool Submit(std::unique_ptr<Task> task) { return mailbox_.Push(std::move(task)); }
  template <class Fn>
  bool Submit(Fn&& fn) {
    return Submit(MakeTask(std::forward<Fn>(fn)));
  }

  // Shard thread only.
  TimerId RunAfter(std::chrono::nanoseconds delay, std::function<void()> fn);
  bool CancelTimer(TimerId id) { return timers_.Cancel(id); }
  // Shard thread only: timers set and not yet run or cancelled.
  size_t pending_timers() const { return timers_.size(); }

  // Shard thread only: false once the completion queue is shutting down, after which no gRPC
  // operation may be started on it (gRPC asserts).
  bool cq_open() const { return cq_open_; }

  // New calls are refused while draining (shutdown has begun). Shard thread only.
  bool draining() const { return draining_; }
  void set_draining(bool draining) { draining_ = draining; }

  // Calls that have started and not yet been freed. Written on the shard thread, read anywhere.
  void CallStarted() { live_calls_.fetch_add(1, std::memory_order_relaxed); }
  void CallEnded() { live_calls_.fetch_sub(1, std::memory_order_relaxed); }
  int64_t live_calls() const { return live_calls_.load(std::memory_order_relaxed); }

  uint64_t events_handled() const { return events_.load(std::memory_order_relaxed); }
  // Where the loop's time went (any thread; metrics): blocked waiting for work (in the
  // completion queue's AsyncNext, which on libgrpc's transport also does libgrpc's own socket
  // work, or in epoll_wait, which is idle), and the rest (running tags, tasks and timers). Each
  // is updated once per loop turn, so a long wait shows once it ends.
  uint64_t wait_nanos() const { return wait_nanos_.load(std::memory_order_relaxed); }
  uint64_t busy_nanos() const { return busy_nanos_.load(std::memory_order_relaxed); }
  // CPU time the shard's thread has used (its thread CPU clock), in seconds; any thread; 0 when
  // the thread is not running.
  double cpu_seconds() const;
  // The task mailbox: tasks run, and tasks waiting (any thread; metrics).
  uint64_t tasks_run() const { return mailbox_.ran(); }
  uint64_t mailbox_depth() const { return mailbox_.depth(); }

  // The one object of type T that a layer above the runtime keeps per shard (core/rpc's
  // admission control), made with T(Shard&) on first use and destroyed with the shard, after its
  // queue is drained. Shard thread only (or once the thread has stopped).
  template <class T>
  T& Local() {
    static const size_t index = NextLocalIndex();
    if (locals_.size() <= index) locals_.resize(index + 1);
    if (!locals_[index]) locals_[index] = std::make_shared<T>(*this);
    return *static_cast<T*>(locals_[index].get());
  }

 private:
  friend class Runtime;
  struct WakeAlarm;
  struct WakeFd;
  struct CqEvent;

  void UsePlainQueue();
  void UseServerQueue(std::unique_ptr<grpc::ServerCompletionQueue> cq);
  void StartThread(int cpu);  // cpu < 0: not pinned
  void RequestClose();
  void Join();
  void Loop();
  void EpollLoop();
  void StartPump();
  void CloseOnThread();
  void Wake();
  static size_t NextLocalIndex();

  Runtime& runtime_;
  const ShardId id_;
  std::unique_ptr<grpc::CompletionQueue> cq_;
  grpc::ServerCompletionQueue* server_cq_ = nullptr;
  const LoopMode mode_;
  Mailbox mailbox_;
  // kEpoll only: the fds, the eventfd both mailboxes wake, the completion-queue events the pump
  // forwards (never closed before the pump ends), and the pump.
  std::unique_ptr<Poller> poller_;
  std::unique_ptr<WakeFd> wake_fd_;
  std::unique_ptr<Mailbox> cq_events_;
  std::thread pump_;
  bool cq_drained_ = false;
  TimerQueue timers_;
  bool cq_open_ = true;
  bool draining_ = false;
  std::atomic<int64_t> live_calls_{0};
  std::atomic<uint64_t> events_{0};
  // Written only by the shard's thread (a load and a store, no read-modify-write), read anywhere.
  std::atomic<uint64_t> wait_nanos_{0};
  std::atomic<uint64_t> busy_nanos_{0};
  Clock::time_point turn_end_;  // when the last wait ended; shard thread only
  // The thread's CPU clock id while it runs (ids of thread clocks are negative numbers).
  static constexpr int64_t kNoCpuClock = INT64_MIN;
  std::atomic<int64_t> cpu_clock_{kNoCpuClock};
  Clock::time_point BeforeWait();  // accounts the busy time since the last wait
  Clock::time_point AfterWait(Clock::time_point wait_began);  // accounts the wait; returns now
  std::thread thread_;
  std::vector<std::shared_ptr<void>> locals_;  // by Local<T>() index; see Local()
};

}  // namespace percore::runtime
