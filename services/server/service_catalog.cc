#include "services/server/service_catalog.h"

#include <set>

#include "services/health/health_handler.h"
#include "services/interop/test_service_handler.h"
#include "services/user/user_handler.h"

namespace percore::server {

const std::vector<CatalogEntry>& ServiceCatalog() {
  static const std::vector<CatalogEntry> catalog = {
      {"user", "user.v1.UserService"},
      {"interop", "grpc.testing.TestService"},
  };
  return catalog;
}

std::vector<std::shared_ptr<rpc::ServiceRegistration>> MakeServices(
    const std::vector<std::string>& names, std::string* error) {
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
      return {};
    }
  }
  if (names.empty()) {
    for (const CatalogEntry& entry : ServiceCatalog()) chosen.insert(entry.short_name);
  }

  std::vector<std::shared_ptr<rpc::ServiceRegistration>> services;
  if (chosen.contains("user")) services.push_back(user::MakeUserService());
  if (chosen.contains("interop")) services.push_back(interop::MakeTestService());

  std::set<std::string> hosted = {"grpc.health.v1.Health",
                                  "grpc.reflection.v1alpha.ServerReflection"};
  for (auto& s : services) hosted.insert(s->name());
  services.push_back(health::MakeHealthService(hosted));
  return services;
}

}  // namespace percore::server
