#pragma once
// Threading contract: construct, Start() and Stop() from one control thread (not a shard).
// shard(), size(), SubmitTo() and RunOnAll() from any thread; RunOnAllAndWait() from any thread
// but a shard's; Hop() only from a shard thread.
//
// N shards, one per usable CPU by default. Work crosses shards only as tasks in mailboxes
// (Seastar's submit_to): what a task needs is moved into it, and a result comes back to the
// shard that asked, which then carries on (Dragonfly's "hop").
//
// Hop's continuation is shard-affine (it may hold a call handle): it is run and destroyed only
// on its home shard. At shutdown the home mailbox may already be closed when the work finishes
// on the target; the continuation is then adopted by the Runtime and destroyed in Stop(), after
// every shard thread has been joined, never on the target's thread while home may still run.

#include <grpcpp/completion_queue.h>

#include <cassert>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/runtime/shard.h"

namespace percore::runtime {

struct RuntimeOptions {
  int shards = 0;   // 0: UsableCpuCount()
  bool pin = true;  // pin shard i to the i-th allowed CPU when there are enough CPUs
  // How each shard waits (shard.h): in its completion queue (libgrpc's transport), or in epoll
  // with the queue pumped (percore's own transport, core/net).
  LoopMode loop = LoopMode::kCompletionQueue;
  // Run on each shard's thread when it starts, before its loop serves anything (thread-local
  // set-up such as core/observe's tracer). May be empty.
  std::function<void(Shard&)> on_thread_start = nullptr;
  // kEpoll only: after its last event a shard polls (epoll_wait with no timeout) for this long
  // before it sleeps, so a request that arrives within the window is served without a wake-up
  // (a sleeping thread's wake-up costs tens of microseconds, more on a VM whose vCPU halted).
  // Seastar's reactor does the same (--idle-poll-time-us). 0: sleep at once.
  std::chrono::microseconds idle_poll{0};
};

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options = {});
  ~Runtime();  // Stop()s if still running
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  size_t size() const { return shards_.size(); }
  const RuntimeOptions& options() const { return options_; }
  Shard& shard(ShardId id) { return *shards_[id]; }

  // Starts the shard threads. With `server_queues` (one per shard, from ServerBuilder), each
  // shard polls that queue; without, each shard gets a plain completion queue.
  void Start(std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> server_queues = {});
  bool running() const { return running_; }

  // Closes every shard's mailbox and completion queue, drains them and joins the threads.
  // Callers stop gRPC servers first (Server::Shutdown needs the shards polling).
  void Stop();

  // Runs fn() on `target`. Any thread. False if the shard is closed.
  template <class Fn>
  bool SubmitTo(ShardId target, Fn&& fn) {
    return shard(target).Submit(std::forward<Fn>(fn));
  }

  // Runs fn(shard) on every shard and returns once each has run it (a closed shard skips it).
  // Not from a shard thread: it would wait for its own mailbox.
  void RunOnAllAndWait(const std::function<void(Shard&)>& fn);

  // Runs fn(shard) on every shard.
  template <class Fn>
  void RunOnAll(const Fn& fn) {
    for (auto& s : shards_) {
      Shard* target = s.get();
      target->Submit([fn, target] { fn(*target); });
    }
  }

  // From a shard thread: runs work() on `target`, then then(result) back on the calling shard.
  // When `target` is the calling shard both run at once, inline. `then` is moved to the target
  // and back but only run and destroyed on the calling shard, so it may hold shard-local handles.
  template <class Work, class Then>
  void Hop(ShardId target, Work work, Then then) {
    Shard* home = Shard::Current();
    assert(home != nullptr && "Hop() must be called on a shard thread");
    using Result = std::invoke_result_t<Work&>;
    if (home->id() == target) {
      if constexpr (std::is_void_v<Result>) {
        work();
        then();
      } else {
        then(work());
      }
      return;
    }
    shard(target).Submit(
        [home, work = std::move(work), then = HomeBound<Then>(home, std::move(then))]() mutable {
          if constexpr (std::is_void_v<Result>) {
            work();
            home->Submit([then = std::move(then)]() mutable { then.get()(); });
          } else {
            home->Submit([result = work(), then = std::move(then)]() mutable {
              then.get()(std::move(result));
            });
          }
        });
  }

  // Hop for work that answers later: work(reply) runs on `target`; reply(result), called once on
  // `target` (at once or from a later task there, e.g. when a log record is durable), sends the
  // result home, where then(result) runs. `then` lives in a shared state that reply copies hold,
  // so reply may be stored in a std::function; it is destroyed at home (or adopted, as in Hop).
  template <class R, class Work, class Then>
  void HopAsync(ShardId target, Work work, Then then) {
    Shard* home = Shard::Current();
    assert(home != nullptr && "HopAsync() must be called on a shard thread");
    struct State {
      State(Shard* h, Then t) : home(h), then(h, std::move(t)) {}
      Shard* home;
      HomeBound<Then> then;
      bool replied = false;
    };
    auto state = std::make_shared<State>(home, std::move(then));
    auto reply = [state](R result) {
      if (std::exchange(state->replied, true)) return;  // once
      if (Shard::Current() == state->home) {
        state->then.take()(std::move(result));
        return;
      }
      state->home->Submit(
          [state, result = std::move(result)]() mutable { state->then.take()(std::move(result)); });
    };
    if (home->id() == target) {
      work(std::move(reply));
      return;
    }
    shard(target).Submit(
        [work = std::move(work), reply = std::move(reply)]() mutable { work(std::move(reply)); });
  }

  // Takes what may not be destroyed off its home shard while the shards run; destroyed in Stop()
  // after the joins. Any thread; only on the shutdown path (a refused Submit), so the lock is
  // never taken on the request path.
  void Adopt(std::unique_ptr<Task> orphan);

 private:
  // Holds a value that belongs to `home`: destroyed elsewhere (a refused Submit destroys its
  // task on the sending thread), it goes to the Runtime's orphans instead.
  template <class T>
  class HomeBound {
   public:
    HomeBound(Shard* home, T value) : home_(home), value_(std::move(value)) {}
    HomeBound(HomeBound&& other) noexcept
        : home_(other.home_), value_(std::exchange(other.value_, std::nullopt)) {}
    HomeBound& operator=(HomeBound&&) = delete;
    ~HomeBound() {
      if (value_ && Shard::Current() != home_) {
        home_->runtime().Adopt(MakeTask([value = std::move(*value_)] {}));
      }
    }
    T& get() { return *value_; }
    // Moves the value out (on its home shard), so destroying this elsewhere later is harmless.
    T take() {
      T value = std::move(*value_);
      value_.reset();
      return value;
    }

   private:
    Shard* home_;
    std::optional<T> value_;
  };

 private:
  RuntimeOptions options_;
  std::vector<std::unique_ptr<Shard>> shards_;
  bool running_ = false;
  std::mutex orphans_mutex_;
  std::vector<std::unique_ptr<Task>> orphans_;
};

}  // namespace percore::runtime
