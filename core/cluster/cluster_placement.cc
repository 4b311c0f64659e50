#include "core/cluster/cluster_placement.h"

#include <utility>

namespace percore::cluster {
namespace {

// Written once before the shards start (their creation orders the write before every read).
ClusterPlacement& MutablePlacement() {
  static ClusterPlacement placement;
  return placement;
}

}  // namespace

void InstallPlacement(ClusterPlacement placement) { MutablePlacement() = std::move(placement); }

const ClusterPlacement& ProcessPlacement() { return MutablePlacement(); }

}  // namespace percore::cluster
