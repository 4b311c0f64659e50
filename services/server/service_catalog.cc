#include "services/server/service_catalog.h"

#include <set>

#include "services/clients/service_clients.h"
#include "services/health/health_handler.h"
#include "services/interop/test_service_handler.h"
#include "services/inventory/inventory_handler.h"
#include "services/order/order_handler.h"
#include "services/payment/payment_handler.h"
#include "services/reflection/reflection_service.h"
#include "services/remote/remote_inventory_client.h"
#include "services/remote/remote_payment_client.h"
#include "services/remote/remote_user_client.h"
#include "services/server/state_readers.h"
#include "services/user/user_handler.h"

namespace percore::server {
namespace {

// What this process hosts, built once each, so in-process clients reach the very instance the
// server registered.
struct Hosted {
  std::shared_ptr<user::UserService> user;  // the service API: also the in-process client
  std::shared_ptr<inventory::InventoryService> inventory;  // also the in-process client
  std::shared_ptr<payment::PaymentService> payment;        // also the in-process client
};

// The peer for `name` as a RemotePeer (kept in `built` for shutdown), or nullptr with `error`.
std::shared_ptr<remote::RemotePeer> MakePeer(const std::string& name, remote::PeerOptions options,
                                             BuiltServices* built, std::string* error) {
  std::string why;
  auto peer = remote::RemotePeer::Create(std::move(options), &why);
  if (!peer) {
    *error = "--peer " + name + ": " + why;
    return nullptr;
  }
  built->peers.push_back(peer);
  return peer;
}

std::string Missing(const std::string& caller, const std::string& callee) {
  return caller + " needs " + callee + ": host it with --services or give --peer " + callee +
         "=HOST:PORT";
}

// A client for `callee`: the service API itself when it is hosted here, the Remote one when a
// --peer names it, else nullptr with `error`.
template <class Client, class Remote, class Service>
std::shared_ptr<Client> ClientFor(const std::string& caller, const std::string& callee,
                                  const std::shared_ptr<Service>& hosted,
                                  const PeerAddresses& peers, BuiltServices* built,
                                  std::string* error) {
  if (hosted) return hosted;
  auto it = peers.find(callee);
  if (it == peers.end()) {
    *error = Missing(caller, callee);
    return nullptr;
  }
  auto peer = MakePeer(callee, Remote::Options(it->second), built, error);
  if (!peer) return nullptr;
  auto client = std::make_shared<Remote>(std::move(peer));
  if constexpr (requires { client->replica_peers(); }) {  // closed at shutdown like the rest
    for (auto& replica : client->replica_peers()) built->peers.push_back(replica);
  }
  return client;
}

// The clients `caller` uses to reach the services it needs: hosted here or peers.
std::optional<clients::ServiceClients> ClientsFor(const std::string& caller, const Hosted& hosted,
                                                  const PeerAddresses& peers, BuiltServices* built,
                                                  std::string* error) {
  clients::ServiceClients clients;
  clients.users = ClientFor<clients::UserClient, remote::RemoteUserClient>(
      caller, "user", hosted.user, peers, built, error);
  if (!clients.users) return std::nullopt;
  clients.inventory = ClientFor<clients::InventoryClient, remote::RemoteInventoryClient>(
      caller, "inventory", hosted.inventory, peers, built, error);
  if (!clients.inventory) return std::nullopt;
  clients.payments = ClientFor<clients::PaymentClient, remote::RemotePaymentClient>(
      caller, "payment", hosted.payment, peers, built, error);
  if (!clients.payments) return std::nullopt;
  return clients;
}

}  // namespace

const std::vector<CatalogEntry>& ServiceCatalog() {
  static const std::vector<CatalogEntry> catalog = {
      {"user", "user.v1.UserService"},          {"inventory", "inventory.v1.InventoryService"},
      {"payment", "payment.v1.PaymentService"}, {"order", "order.v1.OrderService"},
      {"interop", "grpc.testing.TestService"},
  };
  return catalog;
}

const std::vector<CatalogEntry>& PeerServiceCatalog() {
  static const std::vector<CatalogEntry> catalog = {
      {"user", "user.v1.UserService"},
      {"inventory", "inventory.v1.InventoryService"},
      {"payment", "payment.v1.PaymentService"},
      // No hosted service calls it; the HTTP gateway does (--http with --peer order=...).
      {"order", "order.v1.OrderService"},
  };
  return catalog;
}

const CatalogEntry* FindPeerService(std::string_view name) {
  for (const CatalogEntry& entry : PeerServiceCatalog()) {
    if (name == entry.short_name || name == entry.full_name) return &entry;
  }
  return nullptr;
}

std::optional<BuiltServices> BuildServices(const std::vector<std::string>& names,
                                           const PeerAddresses& peers, std::string* error) {
  return BuildServices(names, peers, durability::DurabilityConfig(), error);
}

std::optional<BuiltServices> BuildServices(const std::vector<std::string>& names,
                                           const PeerAddresses& peers,
                                           const durability::DurabilityConfig& durability,
                                           std::string* error) {
  return BuildServices(names, peers, durability, ClientsDecorator(), error);
}

std::optional<BuiltServices> BuildServices(const std::vector<std::string>& names,
                                           const PeerAddresses& peers,
                                           const durability::DurabilityConfig& durability,
                                           const ClientsDecorator& decorate, std::string* error) {
  std::set<std::string> chosen;
  for (const std::string& name : names) {
    bool found = false;
    for (const CatalogEntry& entry : ServiceCatalog()) {
      if (name == entry.short_name || name == entry.full_name) {
        chosen.insert(entry.short_name);
        found = true;
      }
    }
    if (name == "health" || name == "grpc.health.v1.Health") found = true;
    if (!found) {
      *error = "unknown service \"" + name + "\" in --services (see --help)";
      return std::nullopt;
    }
  }
  if (names.empty()) {
    for (const CatalogEntry& entry : ServiceCatalog()) chosen.insert(entry.short_name);
  }
  for (const auto& [name, addresses] : peers) {
    if (chosen.contains(name)) {
      *error = "--peer " + name + ": " + name +
               " is also hosted here (--services); a service is either hosted or a peer";
      return std::nullopt;
    }
  }

  BuiltServices built;
  Hosted hosted;
  if (chosen.contains("user")) {
    hosted.user =
        std::make_shared<user::UserService>(user::UserServiceOptions{.durability = durability});
    auto def = user::MakeUserGrpcService(hosted.user);
    built.registrations.push_back(def);
    built.state_readers.push_back(UserStateReader(hosted.user, def));
    built.user = hosted.user;
    if (durability.enabled()) {
      built.recoveries.push_back([user = hosted.user](size_t shards, std::string* report) {
        return user->Recover(shards, report);
      });
      built.closers.push_back([user = hosted.user] { user->CloseJournals(); });
    }
  }
  if (chosen.contains("inventory")) {
    hosted.inventory = std::make_shared<inventory::InventoryService>(
        inventory::InventoryServiceOptions{.durability = durability});
    built.registrations.push_back(inventory::MakeInventoryGrpcService(hosted.inventory));
    built.inventory = hosted.inventory;
    built.state_readers.push_back(InventoryStateReader(hosted.inventory));
    if (durability.enabled()) {
      built.recoveries.push_back(
          [inventory = hosted.inventory](size_t shards, std::string* report) {
            return inventory->Recover(shards, report);
          });
      built.closers.push_back([inventory = hosted.inventory] { inventory->CloseJournals(); });
    }
  }
  if (chosen.contains("payment")) {
    hosted.payment = std::make_shared<payment::PaymentService>(
        payment::PaymentServiceOptions{.durability = durability});
    built.registrations.push_back(payment::MakePaymentGrpcService(hosted.payment));
    built.state_readers.push_back(PaymentStateReader(hosted.payment));
    if (durability.enabled()) {
      built.recoveries.push_back([payment = hosted.payment](size_t shards, std::string* report) {
        return payment->Recover(shards, report);
      });
      built.closers.push_back([payment = hosted.payment] { payment->CloseJournals(); });
    }
  }
  if (chosen.contains("order")) {
    std::optional<clients::ServiceClients> clients =
        ClientsFor("order", hosted, peers, &built, error);
    if (!clients) return std::nullopt;
    order::OrderServiceOptions order_options;
    if (decorate) decorate(*clients, order_options);
    std::shared_ptr<order::OrderJournals> journals;
    if (durability.enabled()) journals = std::make_shared<order::OrderJournals>(durability);
    order_options.idempotency_retention = durability.idempotency_retention;
    auto def = order::MakeOrderService(std::move(*clients), std::move(order_options), journals);
    built.registrations.push_back(def);
    built.state_readers.push_back(OrderStateReader(def, journals));
    if (journals) {
      built.recoveries.push_back([journals](size_t shards, std::string* report) {
        return journals->Recover(shards, report);
      });
      built.closers.push_back([journals] { journals->Close(); });
      // The orders recovery found mid-saga are finished by the services they call: once serving.
      built.resumers.push_back([def](runtime::Runtime& runtime, std::function<void()> done) {
        order::ResumeRecoveredOrders(*def, runtime, std::move(done));
      });
    }
  }
  if (chosen.contains("interop")) built.registrations.push_back(interop::MakeTestService());

  std::set<std::string> names_hosted = {"grpc.health.v1.Health"};
  for (auto& s : built.registrations) names_hosted.insert(s->name());
  // Reflection (services/reflection, both versions) lists every name hosted, itself included.
  std::vector<std::string> listed = reflection::ReflectionServiceNames(names_hosted);
  for (auto& s : reflection::MakeReflectionServices(listed)) built.registrations.push_back(s);
  built.health =
      health::MakeHealthService({listed.begin(), listed.end()}, /*serving=*/built.resumers.empty());
  built.registrations.push_back(built.health);
  return built;
}

std::vector<std::shared_ptr<rpc::ServiceRegistration>> MakeServices(
    const std::vector<std::string>& names, const PeerAddresses& peers, std::string* error) {
  std::optional<BuiltServices> built = BuildServices(names, peers, error);
  if (!built) return {};
  return std::move(built->registrations);
}

std::vector<std::shared_ptr<rpc::ServiceRegistration>> MakeServices(
    const std::vector<std::string>& names, std::string* error) {
  return MakeServices(names, PeerAddresses(), error);
}

}  // namespace percore::server
