#pragma once
// Threading contract: the fixture runs on the test thread; On() runs fn on a shard's thread and
// waits for it.
//
// A started runtime for each test of the runtime's own suites (loop modes, Sharded<T>), stopped
// after it: the fixture they would otherwise each write.

#include <gtest/gtest.h>

#include "core/runtime/runtime.h"
#include "tests/testing/run_on_shard.h"

namespace percore::testing {

class RuntimeFixture : public ::testing::Test {
 protected:
  explicit RuntimeFixture(runtime::RuntimeOptions options) : runtime_(options) {}
  void SetUp() override { runtime_.Start(); }
  void TearDown() override { runtime_.Stop(); }

  // Runs fn on `shard` and waits for its result.
  template <class Fn>
  auto On(runtime::ShardId shard, Fn fn) {
    return RunOnShard(runtime_, shard, std::move(fn));
  }

  runtime::Runtime runtime_;
};

}  // namespace percore::testing
