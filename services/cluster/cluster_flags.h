#pragma once
// Threading contract: parsed once in main(), on the control thread.
//
// --partitions P, --partition I, --members HOST:PORT,HOST:PORT,...: the static membership of a
// cluster (index in --members = partition). Without --partitions (or with 1) the process is the
// whole cluster and nothing is routed.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/cluster/cluster_placement.h"

namespace percore::cluster {

struct ClusterFlags {
  int partitions = 1;
  int partition = -1;                // -1: not given
  std::vector<std::string> members;  // HOST:PORT (or DNS name:PORT) by partition
};

// Parses `arg` if it is a cluster flag: nullopt when it is not one, false (with `error` naming
// the flag) when its value is bad, true when taken. `take_value` fetches the flag's value.
std::optional<bool> ParseClusterFlag(std::string_view arg,
                                     const std::function<std::optional<std::string>()>& take_value,
                                     ClusterFlags* flags, std::string* error);
// After every flag: the placement they describe, or nullopt with `error` (a partition out of
// range, a member list of the wrong length, --partition without --partitions).
std::optional<ClusterPlacement> PlacementFromFlags(const ClusterFlags& flags, std::string* error);
std::string ClusterUsage();

}  // namespace percore::cluster
