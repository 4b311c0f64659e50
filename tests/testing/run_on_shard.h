#pragma once
// Threading contract: called from the test thread (not a shard); fn runs on the shard's thread
// and the caller waits for its result.
//
// Runs fn() on one shard of a started runtime and returns what it returned: how a test reads or
// changes shard-owned state without racing the shard.

#include <gtest/gtest.h>

#include <future>

#include "core/runtime/runtime.h"

namespace percore::testing {

template <class Fn>
auto RunOnShard(runtime::Runtime& runtime, runtime::ShardId shard, Fn fn) {
  std::promise<decltype(fn())> done;
  auto future = done.get_future();
  EXPECT_TRUE(runtime.SubmitTo(shard, [&] { done.set_value(fn()); }));
  return future.get();
}

}  // namespace percore::testing
