#include "services/cluster/cluster_setup.h"

#include <cstdio>
#include <string>
#include <utility>

#include "core/base/page_token.h"
#include "core/observe/log.h"
#include "services/cluster/cluster_inventory_client.h"
#include "services/cluster/cluster_payment_client.h"
#include "services/cluster/order_chat_lookup.h"
#include "services/cluster/order_stream_relays.h"
#include "services/cluster/product_partition_scanner.h"
#include "services/cluster/route_keys.h"
#include "services/cluster/user_email_calls.h"
#include "services/cluster/user_partition_scanner.h"
#include "services/cluster/user_watch_relay.h"

namespace percore::cluster {

std::shared_ptr<ForwardingRouter> SetUpMember(const ClusterPlacement& placement) {
  InstallPlacement(placement);
  if (!placement.clustered()) return nullptr;
  std::string members;
  for (const std::string& member : placement.members) {
    if (!members.empty()) members += ',';
    members += member;
  }
  // The token key stays the same across growth: P₀ and the first P₀ members (the whole list
  // before any growth).
  std::string first_members;
  for (size_t p = 0; p < placement.initial_partitions() && p < placement.members.size(); ++p) {
    if (p > 0) first_members += ',';
    first_members += placement.members[p];
  }
  SetPageTokenKey("percore-cluster/" + std::to_string(placement.initial_partitions()) + "/" +
                  first_members);
  // Under --etcd the list is empty here: the membership logs it once this member has registered.
  observe::Log(observe::LogLevel::kInfo, "percore-server: partition %u of %zu; members %s\n",
               placement.self, placement.partitions,
               members.empty() ? "from etcd (listed once registered)" : members.c_str());
  return std::make_shared<ForwardingRouter>(PercoreRoutes(),
                                            std::make_shared<MemberLinks>(placement.members));
}

void AttachUserService(const ForwardingRouter& router, const ClusterPlacement& placement,
                       user::UserService& users) {
  users.SetPartitionScanner(MakeUserPartitionScanner(placement, router.shared_links()));
  users.SetClusterWatch(MakeUserWatchRelay(placement, router.shared_links()));
  users.SetRemoteEmailClaims(MakeRemoteEmailClaims(placement, router.shared_links()));
}

void AttachInventoryService(ForwardingRouter& router, const ClusterPlacement& placement,
                            std::shared_ptr<inventory::InventoryService> inventory) {
  inventory->SetPartitionScanner(MakeProductPartitionScanner(placement, router.shared_links()));
  router.SetInventory(std::make_shared<ClusterInventoryClient>(placement, router.shared_links(),
                                                               std::move(inventory)));
}

void UseClusterClients(const ForwardingRouter& router, const ClusterPlacement& placement,
                       clients::ServiceClients& clients, order::OrderServiceOptions& options) {
  InstallOrderStreamRelays(placement, router.shared_links(), options);
  InstallOrderChatLookup(router.shared_links(), options);
  clients.inventory = std::make_shared<ClusterInventoryClient>(placement, router.shared_links(),
                                                               std::move(clients.inventory));
  clients.payments = std::make_shared<ClusterPaymentClient>(placement, router.shared_links(),
                                                            std::move(clients.payments));
}

}  // namespace percore::cluster
