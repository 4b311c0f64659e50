// Sharded<T>: one T per shard, and the one way to ask another shard's T for something.
//
// Threading contract: Emplace() once on each shard's own thread before the shard serves (the
// first one sizes the holder for the runtime; SetShardCount() on the control thread may do it
// earlier); local() and on(shard) only on that shard's thread;
// InvokeOn(), RunOn() and MapReduce() from any shard thread (they hop). Each T is touched only by
// its shard, so T needs no locks (Seastar's sharded<T>).
//
//   Sharded<UserStore> stores;                          // one partition per shard
//   stores.InvokeOn(stores.ShardFor(id), [id](UserStore& s) { return s.Load(id); },
//                   [done](Result<User> user) { done(std::move(user)); });   // back here
//
// What crosses shards: fn is moved to the target and run there; its result is moved back, and
// then runs and is destroyed on the calling shard, so it may hold that shard's handles
// (Runtime::Hop). fn and its result must own what they hold.
#pragma once

#include <cassert>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/runtime/runtime.h"
#include "core/runtime/shard_for.h"

namespace percore::runtime {

template <class T>
class Sharded {
 public:
  Sharded() = default;
  Sharded(const Sharded&) = delete;
  Sharded& operator=(const Sharded&) = delete;

  // Control thread, before any Emplace().
  void SetShardCount(size_t shards) { instances_.resize(shards); }
  size_t size() const { return instances_.size(); }

  // On `shard`'s thread, once: installs its T (destroyed with the Sharded, or by Reset()).
  T& Emplace(Shard& shard, std::unique_ptr<T> instance) {
    // Start-up only: the shards emplace concurrently, so the first sizes the vector for all.
    std::call_once(sized_, [&] {
      if (instances_.empty()) instances_.resize(shard.runtime().size());
    });
    assert(shard.id() < instances_.size() && "one T per shard of the runtime");
    instances_[shard.id()] = std::move(instance);
    return *instances_[shard.id()];
  }
  // On `shard`'s thread: destroys its T (at shutdown, while the shard can still run tasks).
  void Reset(Shard& shard) { instances_[shard.id()].reset(); }

  // The T of the shard running this code. Shard thread only.
  T& local() { return on(*Shard::Current()); }
  T& on(Shard& shard) {
    assert(Shard::Current() == &shard && "a shard's T is used only on that shard");
    assert(instances_[shard.id()] && "Emplace() on this shard first");
    return *instances_[shard.id()];
  }
  bool has(const Shard& shard) const {
    return shard.id() < instances_.size() && instances_[shard.id()] != nullptr;
  }

  // The shard that owns `key` among this T's shards.
  ShardId ShardFor(std::string_view key) const { return runtime::ShardFor(key, size()); }

  // From a shard thread: fn(T&) on `target`'s T, then then(result) on the calling shard (both
  // inline when `target` is the calling shard). For a void fn, then().
  template <class Fn, class Then>
  void InvokeOn(ShardId target, Fn fn, Then then) {
    Shard::Current()->runtime().Hop(
        target, [this, fn = std::move(fn)]() mutable { return fn(local()); }, std::move(then));
  }

  // From a shard thread: fn(T&, reply) on `target`'s T, where reply(R) — called once on
  // `target`, now or later — sends R back to then(R) on the calling shard (Runtime::HopAsync).
  template <class R, class Fn, class Then>
  void InvokeOnAsync(ShardId target, Fn fn, Then then) {
    Shard::Current()->runtime().template HopAsync<R>(
        target, [this, fn = std::move(fn)](auto reply) mutable { fn(local(), std::move(reply)); },
        std::move(then));
  }

  // From a shard thread: fn(T&) on `target`'s T, with no answer (a notice: unsubscribe, deliver).
  // Dropped if the target is closed (shutting down).
  template <class Fn>
  void RunOn(ShardId target, Fn fn) {
    Shard::Current()->runtime().SubmitTo(target,
                                         [this, fn = std::move(fn)]() mutable { fn(local()); });
  }

  // From a shard thread: fn(T&) -> R on every shard at once; each R is folded into `acc` with
  // reduce(acc, R) on the calling shard as it arrives, and then(acc) runs there once all have.
  // fn is copied to each shard, so it must own what it captures.
  template <class Fn, class Acc, class Reduce, class Then>
  void MapReduce(Fn fn, Acc acc, Reduce reduce, Then then) {
    struct Fold {  // lives on the calling shard only: every continuation runs there
      Acc acc;
      Reduce reduce;
      Then then;
      size_t remaining;
    };
    auto fold = std::make_shared<Fold>(
        Fold{std::move(acc), std::move(reduce), std::move(then), instances_.size()});
    if (fold->remaining == 0) {
      fold->then(std::move(fold->acc));
      return;
    }
    for (ShardId shard = 0; shard < instances_.size(); ++shard) {
      using R = std::invoke_result_t<Fn&, T&>;
      if constexpr (std::is_void_v<R>) {
        InvokeOn(shard, fn, [fold] {
          if (--fold->remaining == 0) fold->then(std::move(fold->acc));
        });
      } else {
        InvokeOn(shard, fn, [fold](R result) {
          fold->reduce(fold->acc, std::move(result));
          if (--fold->remaining == 0) fold->then(std::move(fold->acc));
        });
      }
    }
  }

  // From a shard thread: fn(T&) on every shard; then() here once all have run.
  template <class Fn, class Then>
  void InvokeOnAll(Fn fn, Then then) {
    MapReduce(
        std::move(fn), 0, [](int&, auto&&...) {},
        [then = std::move(then)](int) mutable { then(); });
  }

  // Control thread, once the shards' threads are joined (nothing else touches the Ts then):
  // fn(T&) on every T, e.g. to flush and close what each shard kept open.
  template <class Fn>
  void ForEachAfterStop(Fn fn) {
    for (auto& instance : instances_) {
      if (instance) fn(*instance);
    }
  }

 private:
  std::vector<std::unique_ptr<T>> instances_;  // by shard id; each used on its own shard
  std::once_flag sized_;
};

}  // namespace percore::runtime
