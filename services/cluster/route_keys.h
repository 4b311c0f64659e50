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
// Streaming methods (ListUsers, WatchUserUpdates) are served by the member they reach, over its
// own partition's users only (services/cluster/README.md).

#include "core/cluster/route_table.h"

namespace percore::cluster {

RouteTable PercoreRoutes();

}  // namespace percore::cluster
