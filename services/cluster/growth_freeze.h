#pragma once
// Threading contract: any thread; one process-wide atomic flag (a relaxed load on the request
// path, no lock).
//
// While a cluster grows (services/cluster/GROWING.md), a member is frozen from Freeze to
// Unfreeze (cluster.v1.ClusterAdmin), or from its start with --grow-joining (a new partition,
// until its claims are pulled): the calls that would draw a user or order id or claim an email
// are refused UNAVAILABLE "the cluster is growing; retry" by the router, so no id is drawn
// between the old placement and the new one; reads are served as before.

#include <google/protobuf/message.h>

#include <optional>
#include <string>
#include <string_view>

#include "core/base/status.h"

namespace percore::cluster {

bool GrowthFrozen();
void SetGrowthFrozen(bool frozen);

// The refusal for a call of `path` while frozen, or nullopt when it may run (a read, or any call
// when not frozen).
std::optional<Status> RefusedWhileGrowing(std::string_view path,
                                          const google::protobuf::Message& request);

}  // namespace percore::cluster
