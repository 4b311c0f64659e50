#pragma once
// Threading contract: pure functions; callable from any thread.
//
// A grown cluster's placement history as one flag value, `--grown P0,P1@T1[,P2@T2...]`: the
// deploy-time partition count P₀, then each growth's new count and the unix ms T from which ids
// are drawn under it (cluster_placement.h). `tools/cluster grow` prints it; a member restarted
// with it (and its --data-dir) places every key as before the restart.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/cluster/cluster_placement.h"

namespace percore::cluster {

struct GrowthHistory {
  size_t first_partitions = 0;
  std::vector<PlacementEpoch> epochs;  // ascending in both time and count
};

// nullopt with `error` when `text` is not that shape (counts 1..1024, each epoch later and
// larger than the one before).
std::optional<GrowthHistory> ParseGrowthHistory(std::string_view text, std::string* error);
std::string FormatGrowthHistory(const GrowthHistory& history);

}  // namespace percore::cluster
