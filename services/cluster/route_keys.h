#pragma once
// Threading contract: PercoreRoutes() on the control thread; the table it returns is read-only.
//
// Which key places each routed method of percore's services on a partition: the very key the
// service hashes with ShardFor for the same data, so the partition that gets the call is the one
// that holds (or, for creations, will hold) it.
//   user.v1.UserService: GetUser, UpdateUser, DeleteUser by the user id (its 16 bytes);
//     CreateUser by the email's unique key (lower-cased): the user is created on the email's
//     partition, which holds the email's claim, so of concurrent creations with one email,
//     arriving at any members, exactly one wins.
//   inventory.v1.InventoryService: CreateProduct, GetProduct, AdjustStock by the SKU;
//     ReserveStock of one partition's lines by a line's SKU; Commit/ReleaseReservation of a plain
//     id by the id (a reservation spanning partitions is held by the member asked instead:
//     cluster_inventory_client.h).
//   payment.v1.PaymentService: ProcessPayment, VoidPayment by the idempotency key; RefundPayment
//     by the transaction id; GetPayment by the transaction id, else the idempotency key.
//   order.v1.OrderService: CreateOrder by the user id (its 16 bytes); GetOrder, CancelOrder by
//     the order id.
// Streaming methods are served by the member they reach (a marked call: over its own partition
// only): ListUsers and ListProducts merge every partition, WatchUserUpdates fans in, ListOrders
// and WatchOrderUpdates are relayed from the owner (services/cluster/README.md).

#include "core/cluster/route_table.h"

namespace percore::cluster {

RouteTable PercoreRoutes();

}  // namespace percore::cluster
