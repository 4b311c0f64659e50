#include "services/remote/remote_inventory_client.h"

namespace percore::remote {

PeerOptions RemoteInventoryClient::Options(std::vector<std::string> addresses) {
  PeerOptions options;
  options.service = "inventory.v1.InventoryService";
  options.addresses = std::move(addresses);
  options.retryable_methods = {"GetProduct", "ReserveStock", "CommitReservation",
                               "ReleaseReservation", "ReturnReservation"};
  return options;
}

}  // namespace percore::remote
