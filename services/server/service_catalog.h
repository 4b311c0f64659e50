#pragma once
// Threading contract: used once in main() before the server starts.
//
// Which services this binary can host, by short name ("interop") or full name
// ("grpc.testing.TestService"), and the registrations for a chosen list. Each service is built
// once; a service that calls others (order) gets clients for them: in process (the service API,
// through the runtime) when the callee is hosted here, over gRPC (Remote*Client) when a --peer
// names where it runs. Health is always added last, since it must know every other hosted name.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/durability/durability_config.h"
#include "core/rpc/service_def.h"
#include "core/runtime/runtime.h"
#include "services/clients/service_clients.h"
#include "services/health/health_handler.h"
#include "services/inventory/inventory_service.h"
#include "services/order/order_options.h"
#include "services/remote/remote_peer.h"
#include "services/server/state_reader.h"
#include "services/user/user_service.h"

namespace percore::server {

struct CatalogEntry {
  std::string short_name;
  std::string full_name;
};
const std::vector<CatalogEntry>& ServiceCatalog();

// The services others call, and so the ones --peer may name.
const std::vector<CatalogEntry>& PeerServiceCatalog();
// The entry of PeerServiceCatalog() named `name` (short or full), or nullptr.
const CatalogEntry* FindPeerService(std::string_view name);

// Short service name -> HOST:PORT of each replica (ServerFlags::peers).
using PeerAddresses = std::map<std::string, std::vector<std::string>>;

struct BuiltServices {
  std::vector<std::shared_ptr<rpc::ServiceRegistration>> registrations;
  // The peers the hosted services call, so shutdown can Close() them on every shard.
  std::vector<std::shared_ptr<remote::RemotePeer>> peers;
  // With a data directory: what main() runs on the control thread before the shards start, once
  // the shard count is known (each hosted durable service's recovery). A failure refuses to start.
  std::vector<std::function<Status(size_t shards, std::string* report)>> recoveries;
  // Run after the runtime's threads are joined, before the runtime is destroyed: each durable
  // service writes and syncs what its logs hold.
  std::vector<std::function<void()>> closers;
  // The user service when hosted (services/cluster gives it the other partitions to list).
  std::shared_ptr<user::UserService> user;
  // The inventory service when hosted (services/cluster holds reservations spanning partitions
  // over it).
  std::shared_ptr<inventory::InventoryService> inventory;
  // With a data directory: what main() runs once the server serves (control thread), work a
  // durable service must finish before the server reports SERVING (the orders a crash left
  // mid-saga). Each calls `done` once, on any thread. Health starts NOT_SERVING when there is any.
  std::vector<std::function<void(runtime::Runtime& runtime, std::function<void()> done)>> resumers;
  // What /metrics reads of each hosted service's state, on each shard (state_readers.h).
  std::vector<StateReader> state_readers;
  // grpc.health.v1.Health, for SetServing once the resumers are done.
  std::shared_ptr<rpc::ServiceDef<health::HealthHandler>> health;
};

// Registrations for `names` (empty: all) whose calls to other services go to `peers` when those
// are not hosted here. On an unknown name, a peer for a hosted service, a service a hosted one
// needs but that is neither hosted nor a peer, or a peer address that does not resolve: nullopt
// and `error` says which.
std::optional<BuiltServices> BuildServices(const std::vector<std::string>& names,
                                           const PeerAddresses& peers, std::string* error);
// The same, keeping state as `durability` says (durable services: user, inventory, payment,
// order).
std::optional<BuiltServices> BuildServices(const std::vector<std::string>& names,
                                           const PeerAddresses& peers,
                                           const durability::DurabilityConfig& durability,
                                           std::string* error);

// What a cluster member does to the order service it hosts: the clients it calls others with
// (their calls go to the partition owning each key) and its options (streams relayed from the
// user's partition): services/cluster/cluster_setup.h. Empty outside a cluster.
using ClientsDecorator =
    std::function<void(clients::ServiceClients& clients, order::OrderServiceOptions& options)>;
// The same, with the order service's clients and options passed through `decorate` (when set).
std::optional<BuiltServices> BuildServices(const std::vector<std::string>& names,
                                           const PeerAddresses& peers,
                                           const durability::DurabilityConfig& durability,
                                           const ClientsDecorator& decorate, std::string* error);

// BuildServices' registrations; on an error, an empty list and `error`.
std::vector<std::shared_ptr<rpc::ServiceRegistration>> MakeServices(
    const std::vector<std::string>& names, const PeerAddresses& peers, std::string* error);
// Everything in this process (no peers).
std::vector<std::shared_ptr<rpc::ServiceRegistration>> MakeServices(
    const std::vector<std::string>& names, std::string* error);

}  // namespace percore::server
