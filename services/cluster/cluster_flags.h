#pragma once
// Threading contract: parsed once in main(), on the control thread.
//
// --partitions P, --partition I, --members HOST:PORT,HOST:PORT,...: the static membership of a
// cluster (index in --members = partition). Without --partitions (or with 1) the process is the
// whole cluster and nothing is routed. Or live membership: --etcd URL,... with --advertise,
// --etcd-prefix, --etcd-lease-ttl-seconds, --etcd-connect-timeout-seconds
// (services/cluster/etcd_membership.h). --partition-from-hostname takes I from the host name's
// trailing ordinal (a Kubernetes StatefulSet pod: percore-2 serves partition 2). --grown
// P0,P1@T1[,...]: the history `tools/cluster grow` printed, for a restart after growth.

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
  bool partition_from_hostname = false;
  // Live membership through etcd (empty: static --members).
  std::vector<std::string> etcd;  // HOST:PORT of each endpoint (given as http://HOST:PORT)
  std::string etcd_prefix = "/percore";
  std::string advertise;  // HOST:PORT other members dial; empty: the --listen address
  int etcd_lease_ttl_seconds = 10;
  int etcd_connect_timeout_seconds = 10;
  // --grown P0,P1@T1,...: the growth history of a grown cluster (core/cluster/growth_history.h);
  // empty: never grown.
  std::string grown;
  // --grow-joining: a partition started while its cluster grows; frozen until the tool's
  // Unfreeze (services/cluster/growth_freeze.h).
  bool grow_joining = false;

  bool live_membership() const { return !etcd.empty(); }
};

// The ordinal a StatefulSet pod's host name ends in ("percore-2" -> 2), or nullopt.
std::optional<int> OrdinalOfHostname(std::string_view hostname);

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
