#pragma once
// Threading contract: built once before the server starts; the clients are then used from every
// shard thread.
//
// The services an OrderService reaches: in this process (the service API objects: the runtime, no
// serialization) or in others (--peer SERVICE=HOST:PORT,...: gRPC with round_robin).

#include <memory>

#include "services/clients/inventory_client.h"
#include "services/clients/payment_client.h"
#include "services/clients/user_client.h"

namespace percore::clients {

struct ServiceClients {
  std::shared_ptr<UserClient> users;
  std::shared_ptr<InventoryClient> inventory;
  std::shared_ptr<PaymentClient> payments;
};

}  // namespace percore::clients
