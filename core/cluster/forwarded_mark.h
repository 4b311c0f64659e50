#pragma once
// Threading contract: constants; any thread.
//
// The metadata that marks a call one cluster member sent to another (its value: the sending
// partition). A marked call is served by the partition that receives it and never forwarded
// again (services/cluster/forwarding_router.h); a marked ListUsers lists that partition alone
// (the member that merges the cluster's pages asks each partition with the mark).

namespace percore::cluster {

inline constexpr char kForwardedFromKey[] = "percore-forwarded-from";

}  // namespace percore::cluster
