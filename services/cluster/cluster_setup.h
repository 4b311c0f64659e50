#pragma once
// Threading contract: both on the control thread in main(), before the shards start.
//
// What main() does for a cluster member, in one place: the placement installed (ids land on
// this partition), one page-token key for the whole cluster (derived from the membership, so a
// token from one member is taken by every other; it recognizes tokens, it is no secret), the
// router with its member links, the user service's cross-partition list and watch, and the
// cluster-wide inventory and payment clients of the order saga.

#include <memory>

#include "core/cluster/cluster_placement.h"
#include "services/clients/service_clients.h"
#include "services/cluster/forwarding_router.h"
#include "services/inventory/inventory_service.h"
#include "services/order/order_options.h"
#include "services/user/user_service.h"

namespace percore::cluster {

// Installs `placement`; for a clustered one also returns the router (nullptr otherwise).
std::shared_ptr<ForwardingRouter> SetUpMember(const ClusterPlacement& placement);
// Gives a hosted user service the other partitions for ListUsers and WatchUserUpdates, and for
// email claims of another partition's keys (user_email_calls.h).
void AttachUserService(const ForwardingRouter& router, const ClusterPlacement& placement,
                       user::UserService& users);
// Gives the router the hosted inventory, over which a client's reservation spanning partitions
// is held part by part (cluster_inventory_client.h), and the inventory the other partitions for
// ListProducts' merge (product_partition_scanner.h).
void AttachInventoryService(ForwardingRouter& router, const ClusterPlacement& placement,
                            std::shared_ptr<inventory::InventoryService> inventory);
// The order saga's inventory and payment calls sent to the partition owning each key (SKU,
// reservation id, idempotency key, transaction id) instead of this process's services, so stock
// and money live with their owners whichever member ran the saga. Its user calls stay local:
// an order runs on its user's partition.
// Its ListOrders and WatchOrderUpdates of another partition's user relayed from there
// (order_stream_relays.h).
void UseClusterClients(const ForwardingRouter& router, const ClusterPlacement& placement,
                       clients::ServiceClients& clients, order::OrderServiceOptions& options);

}  // namespace percore::cluster
