#pragma once
// Threading contract: one HealthHandler per shard (rpc::ServiceDef), used only on that shard.
//
// grpc.health.v1.Health from health.proto, served by the runtime like any other service (gRPC's
// built-in health service has no descriptor, so reflection could not describe it). Every shard
// holds the same small status table; it only changes at start-up (NOT_SERVING while recovery
// finishes work a crash left, then SetServing), and when shutdown begins (OnDrain), when every
// open Watch stream is told NOT_SERVING and then ended.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/rpc/service_def.h"
#include "grpc/health/v1/health.pb.h"

namespace percore::health {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

class HealthHandler {
 public:
  // `services`: every service name the server hosts; "" (the whole server) is always known.
  explicit HealthHandler(std::set<std::string> services, bool serving = true);

  // Start-up: SERVING once recovery is done; open Watch streams are told. Ignored once draining.
  void SetServing(bool serving);
  void Check(rpc::UnaryCall<HealthCheckRequest, HealthCheckResponse> call);
  void Watch(rpc::ServerStream<HealthCheckRequest, HealthCheckResponse> call);
  void OnDrain();

  size_t watcher_count() const { return watchers_.size(); }

 private:
  HealthCheckResponse::ServingStatus StatusOf(const std::string& service) const;

  struct Watcher {
    std::string service;
    rpc::ServerStream<HealthCheckRequest, HealthCheckResponse> stream;
  };
  std::set<std::string> services_;
  bool serving_ = true;
  bool draining_ = false;
  uint64_t next_watcher_id_ = 1;
  std::map<uint64_t, Watcher> watchers_;
};

// The registration for every shard; `serving`: the status before any SetServing.
std::shared_ptr<rpc::ServiceDef<HealthHandler>> MakeHealthService(std::set<std::string> services,
                                                                  bool serving = true);

}  // namespace percore::health
