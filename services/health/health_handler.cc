#include "services/health/health_handler.h"

#include "core/base/status.h"

namespace percore::health {

HealthHandler::HealthHandler(std::set<std::string> services, bool serving)
    : services_(std::move(services)), serving_(serving) {
  services_.insert("");
}

void HealthHandler::SetServing(bool serving) {
  if (draining_ || serving == serving_) return;
  serving_ = serving;
  for (auto& [id, watcher] : watchers_) {
    HealthCheckResponse response;
    response.set_status(StatusOf(watcher.service));
    watcher.stream.Write(response);
  }
}

HealthCheckResponse::ServingStatus HealthHandler::StatusOf(const std::string& service) const {
  if (!services_.contains(service)) return HealthCheckResponse::SERVICE_UNKNOWN;
  return serving_ ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
}

void HealthHandler::Check(rpc::UnaryCall<HealthCheckRequest, HealthCheckResponse> call) {
  HealthCheckResponse::ServingStatus status = StatusOf(call.request().service());
  if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
    call.Finish(
        Status(StatusCode::kNotFound, "unknown service: \"" + call.request().service() + "\""));
    return;
  }
  HealthCheckResponse response;
  response.set_status(status);
  call.Finish(response);
}

void HealthHandler::Watch(rpc::ServerStream<HealthCheckRequest, HealthCheckResponse> call) {
  // Per health.proto: the current status at once, then every change; an unknown service is
  // SERVICE_UNKNOWN and stays watched.
  HealthCheckResponse response;
  response.set_status(StatusOf(call.request().service()));
  call.Write(response);
  uint64_t id = next_watcher_id_++;
  call.OnCancel([this, id] { watchers_.erase(id); });
  watchers_.emplace(id, Watcher{call.request().service(), call});
}

void HealthHandler::OnDrain() {
  draining_ = true;
  serving_ = false;
  std::map<uint64_t, Watcher> watchers = std::move(watchers_);
  watchers_.clear();
  for (auto& [id, watcher] : watchers) {
    HealthCheckResponse response;
    response.set_status(StatusOf(watcher.service));
    watcher.stream.Write(response);
    watcher.stream.Finish(Status(StatusCode::kUnavailable, "server is shutting down"));
  }
}

std::shared_ptr<rpc::ServiceDef<HealthHandler>> MakeHealthService(std::set<std::string> services,
                                                                  bool serving) {
  auto def = std::make_shared<rpc::ServiceDef<HealthHandler>>(
      rpc::FindServiceDescriptor("grpc.health.v1.Health"), [services, serving](runtime::Shard&) {
        return std::make_unique<HealthHandler>(services, serving);
      });
  def->Unary("Check", &HealthHandler::Check);
  def->ServerStream("Watch", &HealthHandler::Watch);
  return def;
}

}  // namespace percore::health
