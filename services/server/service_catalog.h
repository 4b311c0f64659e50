#pragma once
// Threading contract: used once in main() before the server starts.
//
// Which services this binary can host, by short name ("interop") or full name
// ("grpc.testing.TestService"), and the registrations for a chosen list. Health is always added
// last, since it must know every other hosted name.

#include <memory>
#include <string>
#include <vector>

#include "core/rpc/service_def.h"

namespace percore::server {

struct CatalogEntry {
  std::string short_name;
  std::string full_name;
};
const std::vector<CatalogEntry>& ServiceCatalog();

// Registrations for `names` (empty: all); on an unknown name, returns an empty list and sets
// `error`.
std::vector<std::shared_ptr<rpc::ServiceRegistration>> MakeServices(
    const std::vector<std::string>& names, std::string* error);

}  // namespace percore::server
