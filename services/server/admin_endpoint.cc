#include "services/server/admin_endpoint.h"

#include <vector>

#include "core/observe/exposition.h"

namespace percore::server {

bool AdminEndpoint::Start(const std::string& listen, std::string* error, SSL_CTX* tls) {
  http::Router router;
  router.Get("/metrics", [this](const http::Request&) { return Metrics(); });
  router.Get("/healthz", [](const http::Request&) { return http::Response{.body = "ok\n"}; });
  router.Get("/readyz", [this](const http::Request&) {
    if (ready_.load(std::memory_order_acquire)) return http::Response{.body = "ready\n"};
    return http::Response{.status = 503, .body = "not ready\n"};
  });
  server_ =
      std::make_unique<http::Server>(http::ServerOptions{.listen = listen}, std::move(router));
  if (!server_->Listen(error)) {
    server_.reset();
    return false;
  }
  if (tls != nullptr) server_->SetTlsContext(tls);
  server_->Start();
  return true;
}

http::Response AdminEndpoint::Metrics() const {
  std::vector<prometheus::MetricFamily> families;
  const rpc::ServerHost* host = host_.load(std::memory_order_acquire);
  std::vector<observe::ShardSample> shards;
  for (size_t i = 0; i < runtime_.size(); ++i) {
    runtime::Shard& shard = runtime_.shard(static_cast<runtime::ShardId>(i));
    observe::ShardSample sample{
        .shard = static_cast<uint32_t>(i),
        .tasks_run = shard.tasks_run(),
        .mailbox_depth = shard.mailbox_depth(),
        .events = shard.events_handled(),
        .calls_in_flight = shard.live_calls(),
        .busy_nanos = shard.busy_nanos(),
        .wait_nanos = shard.wait_nanos(),
        .cpu_seconds = shard.cpu_seconds(),
    };
    if (host != nullptr && i < host->grpc_metrics().size() && host->grpc_metrics()[i]) {
      sample.calls_refused = host->grpc_metrics()[i]->refused.value();
    }
    shards.push_back(sample);
  }
  if (host != nullptr) observe::AppendGrpcServerFamilies(host->grpc_metrics(), &families);
  observe::AppendGrpcClientFamilies(client_metrics_, &families);
  if (tracer_ != nullptr) {
    observe::AppendTraceFamilies(tracer_->written(), tracer_->dropped(), &families);
  }
  for (const FamilySource& source : sources_) source(&families);
  observe::AppendShardFamilies(shards, &families);
  observe::AppendProcessFamilies(&families);
  return http::Response{.content_type = observe::kTextContentType,
                        .body = observe::SerializeText(families)};
}

}  // namespace percore::server
