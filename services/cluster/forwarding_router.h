#pragma once
// Threading contract: built on the control thread before the server starts, immutable afterwards
// (its MemberLinks keep per-shard state, each part touched only by its shard); Route() on the
// call's shard, and the answer it takes runs there too.
//
// Any member answers any call: a unary call whose key (route_table.h) another partition owns is
// forwarded to that partition's member, one hop, with the caller's deadline, its authorization
// and trace context, and the mark kForwardedFromKey. A marked call is never forwarded again: if
// its key is not this partition's either, the members disagree on the placement and the call is
// refused (UNAVAILABLE, naming both partitions) instead of bouncing. A partition that is down
// answers its keys' calls UNAVAILABLE naming the partition, within the member link's connect
// timeout; calls for every other partition go on as before.

#include <memory>
#include <utility>

#include "core/cluster/cluster_placement.h"
#include "core/cluster/route_table.h"
#include "core/rpc/call_router.h"
#include "services/cluster/cluster_inventory_client.h"
#include "services/cluster/member_links.h"

namespace percore::cluster {

class ForwardingRouter final : public rpc::CallRouter {
 public:
  // Routes by the process's placement as it is at each call (ProcessPlacement()).
  ForwardingRouter(RouteTable routes, std::shared_ptr<MemberLinks> links);

  bool Route(const rpc::InterceptedCall& call,
             const std::function<rpc::RoutedAnswer()>& take) const override;

  // A client's reservation spanning partitions is held here, part by part, by `inventory`
  // (cluster_inventory_client.h) instead of being forwarded whole. Set before the server starts.
  void SetInventory(std::shared_ptr<ClusterInventoryClient> inventory) {
    inventory_ = std::move(inventory);
  }

  MemberLinks& links() const { return *links_; }
  const std::shared_ptr<MemberLinks>& shared_links() const { return links_; }

 private:
  RouteTable routes_;
  std::shared_ptr<MemberLinks> links_;
  std::shared_ptr<ClusterInventoryClient> inventory_;
};

}  // namespace percore::cluster
