#pragma once
// Threading contract: called from the test's main thread; `fn` runs on the named shard's own
// thread (Runtime::SubmitTo), the only thread that may touch that shard's handler, and its result
// comes back here through a future. Never call these from a shard thread (it would wait on
// itself).
//
// Reading server-side state from a test without breaking the shard-owns-its-data rule: a
// counter of one shard's handler (OnShard), or summed over every shard (SumOverShards), so tests
// can prove "charged once" and "nothing left behind".

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <type_traits>

#include "core/rpc/service_def.h"
#include "core/runtime/runtime.h"

namespace percore::testing {

// fn(handler of `def` on `shard`) on that shard's thread; its result here. A shard that is closed
// or does not answer within `timeout` fails the test and yields Result().
template <class Handler, class Fn>
auto OnShard(runtime::Runtime& runtime, rpc::ServiceDef<Handler>& def, runtime::ShardId shard,
             Fn fn, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  using Result = std::invoke_result_t<Fn&, Handler&>;
  auto promise = std::make_shared<std::promise<Result>>();
  std::future<Result> future = promise->get_future();
  bool queued = runtime.SubmitTo(shard, [promise, fn, def = &def]() mutable {
    promise->set_value(fn(def->local(*runtime::Shard::Current())));
  });
  EXPECT_TRUE(queued) << "shard " << shard << " is closed";
  if (!queued || future.wait_for(timeout) != std::future_status::ready) {
    ADD_FAILURE() << "shard " << shard << " did not answer";
    return Result();
  }
  return future.get();
}

// fn(handler) on every shard, results summed.
template <class Handler, class Fn>
int64_t SumOverShards(runtime::Runtime& runtime, rpc::ServiceDef<Handler>& def, Fn fn) {
  int64_t total = 0;
  for (size_t s = 0; s < runtime.size(); ++s) {
    total += OnShard(runtime, def, static_cast<runtime::ShardId>(s),
                     [fn](Handler& h) { return static_cast<int64_t>(fn(h)); });
  }
  return total;
}

}  // namespace percore::testing
