#pragma once
// Threading contract: a StateReader runs on the shard it is given, on that shard's thread (a
// /metrics scrape posts it there), so it may read the shard's service objects directly.
//
// How a hosted service shows its state on /metrics (core/observe/state_metrics.h): one reader
// per service, appending that shard's samples.

#include <functional>
#include <vector>

#include "core/observe/state_metrics.h"
#include "core/runtime/shard.h"

namespace percore::server {

using StateReader = std::function<void(runtime::Shard&, std::vector<observe::StateSample>*)>;

}  // namespace percore::server
