#pragma once
// Threading contract: HopAll only from a shard thread (it hops); the rest are pure functions.
//
// Small helpers shared by the InventoryHandler's files: the clock and a parallel hop to several
// shards.

#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/runtime/runtime.h"

namespace percore::inventory::internal {

inline int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline google::protobuf::Timestamp ToTimestamp(int64_t nanos) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(nanos);
}

// Runs work() on every shard of `shards` at once, then then() here once all have run (inline
// when `shards` is empty). `work` is copied to each shard, so it must own what it captures.
template <class Work, class Then>
void HopAll(runtime::Runtime& runtime, const std::vector<runtime::ShardId>& shards, Work work,
            Then then) {
  if (shards.empty()) {
    then();
    return;
  }
  // Both live on this shard only: each hop's continuation runs here.
  auto remaining = std::make_shared<size_t>(shards.size());
  auto last = std::make_shared<Then>(std::move(then));
  for (runtime::ShardId shard : shards) {
    runtime.Hop(shard, work, [remaining, last] {
      if (--*remaining == 0) (*last)();
    });
  }
}

}  // namespace percore::inventory::internal
