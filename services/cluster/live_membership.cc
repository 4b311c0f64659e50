#include "services/cluster/live_membership.h"

#include <utility>

namespace percore::cluster {
namespace {

bool IsWildcard(const std::string& host) {
  return host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::" || host == "*";
}

}  // namespace

std::unique_ptr<EtcdMembership> StartEtcdMembership(const ClusterFlags& flags,
                                                    const ClusterPlacement& placement,
                                                    const std::string& listen, int listening_port,
                                                    runtime::Runtime& runtime, MemberLinks& links,
                                                    EtcdMembership::Lost on_lost, bool* taken,
                                                    std::string* error) {
  *taken = false;
  std::string advertise = flags.advertise;
  if (advertise.empty()) {
    std::string host = listen.substr(0, listen.rfind(':'));
    if (IsWildcard(host)) {
      *error =
          "--etcd needs --advertise HOST:PORT (the address other members dial) when --listen "
          "is a wildcard (" +
          listen + ")";
      return nullptr;
    }
    advertise = host + ":" + std::to_string(listening_port);
  }
  auto membership = std::make_unique<EtcdMembership>(
      EtcdMembershipOptions{.endpoints = flags.etcd,
                            .prefix = flags.etcd_prefix,
                            .advertise = advertise,
                            .partitions = placement.partitions,
                            .self = placement.self,
                            .lease_ttl_seconds = flags.etcd_lease_ttl_seconds,
                            .connect_timeout_seconds = flags.etcd_connect_timeout_seconds},
      [&runtime, &links](const std::vector<std::string>& members) {
        links.UpdateMembers(runtime, members);
      },
      std::move(on_lost));
  Status started = membership->Start();
  if (!started.ok()) {
    *taken = started.code() == StatusCode::kAlreadyExists;
    *error = started.message();
    return nullptr;
  }
  return membership;
}

}  // namespace percore::cluster
