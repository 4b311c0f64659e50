#pragma once
// Threading contract: called once by main() on the control thread, with the data directory's
// lock held (core/durability/data_dir_lock.h), before recovery.
//
// A --data-dir holds one partition's keys under one placement: started again under another
// (a larger --partitions typed by hand, a grown member restarted without its --grown, the
// directory of partition 1 given to partition 2) its ids and claims would be placed wrong and
// its keys silently unreachable. So the first start records the placement in DIR/CLUSTER (the
// growth history as --grown prints it, "P" for a cluster never grown, and the partition), and
// every later start must extend it: the same P₀ and the recorded growths, possibly followed by
// newer ones (`tools/cluster grow` prints the --grown that explains them). A directory written
// before this check (no CLUSTER file) is taken as first started now. A `joining` start (a new
// partition of a growth, --grow-joining) marks its record so: started joining again, its last
// growth may be replaced by another (the first one was abandoned before any switch).

#include <string>

#include "core/base/status.h"
#include "core/cluster/cluster_placement.h"

namespace percore::cluster {

// The placement's history as one value: "P" (never grown) or --grown's "P0,P1@T1,...".
std::string PlacementHistory(const ClusterPlacement& placement);

// OK (the record written or brought forward) or FAILED_PRECONDITION saying what the directory
// was written under and what would explain the start; UNAVAILABLE when the file cannot be
// read or written.
Status CheckDataDirPlacement(const std::string& dir, const ClusterPlacement& placement,
                             bool joining = false);

}  // namespace percore::cluster
