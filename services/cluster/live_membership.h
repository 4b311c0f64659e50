#pragma once
// Threading contract: StartEtcdMembership() on the control thread in main(), once the server
// listens (its port is known) and the runtime runs; it blocks at most
// --etcd-connect-timeout-seconds.
//
// What main() does for a member with --etcd: the address it advertises (--advertise, or the
// --listen address with its actual port), and an EtcdMembership whose member lists go to every
// shard's MemberLinks through the shards' mailboxes.

#include <memory>
#include <string>

#include "core/cluster/cluster_placement.h"
#include "core/runtime/runtime.h"
#include "services/cluster/cluster_flags.h"
#include "services/cluster/etcd_membership.h"
#include "services/cluster/member_links.h"

namespace percore::cluster {

// The running membership, or nullptr with `error` (no address to advertise, etcd unreachable;
// `*taken` set when another process holds this partition). `on_lost`: the partition was taken
// after this member's lease expired (EtcdMembership::Lost, on the keep-alive thread).
std::unique_ptr<EtcdMembership> StartEtcdMembership(const ClusterFlags& flags,
                                                    const ClusterPlacement& placement,
                                                    const std::string& listen, int listening_port,
                                                    runtime::Runtime& runtime, MemberLinks& links,
                                                    EtcdMembership::Lost on_lost, bool* taken,
                                                    std::string* error);

}  // namespace percore::cluster
