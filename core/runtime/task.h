#pragma once
// Threading contract: created on any thread, run and destroyed on the receiving shard's thread.
// A unit of work sent to a shard's mailbox (owned data crosses cores: move what the task needs
// into it). It carries the trace context of the code that made it (core/observe), made ambient
// while it runs, so a request's trace follows it across shards.

#include <memory>
#include <utility>

#include "core/observe/trace_context.h"
#include "core/runtime/mpsc_queue.h"

namespace percore::runtime {

class Task : public MpscNode {
 public:
  virtual ~Task() = default;
  virtual void Run() = 0;

  // Set where the task is made (a thread's ambient context is its own: invalid off the shards).
  observe::TraceContext trace = observe::CurrentTrace();
};

template <class Fn>
class FunctionTask final : public Task {
 public:
  explicit FunctionTask(Fn fn) : fn_(std::move(fn)) {}
  void Run() override { fn_(); }

 private:
  Fn fn_;
};

template <class Fn>
std::unique_ptr<Task> MakeTask(Fn&& fn) {
  return std::make_unique<FunctionTask<std::decay_t<Fn>>>(std::forward<Fn>(fn));
}

}  // namespace percore::runtime
