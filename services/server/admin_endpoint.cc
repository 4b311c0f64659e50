#include "services/server/admin_endpoint.h"

#include <openssl/ssl.h>

#include <condition_variable>
#include <memory>
#include <mutex>
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
  // With --tls-client-ca the TLS layer asks for a client certificate but lets a probe without
  // one in; the paths but /healthz and /readyz then need one it verified (NeedsCertificate).
  certificate_required_.store(RequiresClientCertificate(tls), std::memory_order_relaxed);
  http::Handler handler = [this, router = std::move(router)](const http::Request& request) {
    if (request.peer_certificate_name.empty() &&
        certificate_required_.load(std::memory_order_relaxed) && !IsProbe(request.path())) {
      return http::Response{.status = 403,
                            .body = "a client certificate from --tls-client-ca is required for " +
                                    std::string(request.path()) +
                                    " (/healthz and /readyz need none)\n"};
    }
    return router(request);
  };
  server_ = std::make_unique<http::Server>(
      http::ServerOptions{.listen = listen, .client_certificate_optional = true},
      std::move(handler));
  if (!server_->Listen(error)) {
    server_.reset();
    return false;
  }
  if (tls != nullptr) server_->SetTlsContext(tls);
  server_->Start();
  return true;
}

bool AdminEndpoint::RequiresClientCertificate(SSL_CTX* tls) {
  return tls != nullptr && (SSL_CTX_get_verify_mode(tls) & SSL_VERIFY_FAIL_IF_NO_PEER_CERT) != 0;
}

bool AdminEndpoint::IsProbe(std::string_view path) {
  return path == "/healthz" || path == "/readyz";
}

void AdminEndpoint::ReloadTls(SSL_CTX* tls) {
  if (!server_ || !server_->tls()) return;
  certificate_required_.store(RequiresClientCertificate(tls), std::memory_order_relaxed);
  server_->SetTlsContext(tls);
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
  if (host != nullptr && state_readers_ && !state_readers_->empty()) {
    observe::AppendStateFamilies(ReadState(), &families);
  }
  observe::AppendProcessFamilies(&families);
  // /readyz as a series, so an alert can say which instance is not ready (deploy/prometheus).
  prometheus::MetricFamily ready{
      .name = "percore_ready",
      .help = "1 while the server serves (/readyz 200); 0 before, during recovery and draining.",
      .type = prometheus::MetricType::Gauge};
  ready.metric.emplace_back().gauge.value = ready_.load(std::memory_order_acquire) ? 1 : 0;
  families.push_back(std::move(ready));
  return http::Response{.content_type = observe::kTextContentType,
                        .body = observe::SerializeText(families)};
}

std::vector<std::vector<observe::StateSample>> AdminEndpoint::ReadState() const {
  // Shared with the shard tasks, which may finish after a scrape that stopped waiting.
  struct Gather {
    std::mutex mutex;
    std::condition_variable answered;
    size_t left = 0;
    std::vector<std::vector<observe::StateSample>> per_shard;
  };
  auto gather = std::make_shared<Gather>();
  gather->per_shard.resize(runtime_.size());
  gather->left = runtime_.size();
  for (size_t i = 0; i < runtime_.size(); ++i) {
    auto shard_id = static_cast<runtime::ShardId>(i);
    bool queued = runtime_.SubmitTo(shard_id, [readers = state_readers_, gather, shard_id] {
      std::vector<observe::StateSample> samples;
      runtime::Shard& shard = *runtime::Shard::Current();
      for (const StateReader& read : *readers) read(shard, &samples);
      std::lock_guard lock(gather->mutex);
      gather->per_shard[shard_id] = std::move(samples);
      if (--gather->left == 0) gather->answered.notify_one();
    });
    if (!queued) {
      std::lock_guard lock(gather->mutex);
      --gather->left;
    }
  }
  std::unique_lock lock(gather->mutex);
  gather->answered.wait_for(lock, kStateWait, [&] { return gather->left == 0; });
  return gather->per_shard;  // a copy: a late shard may still write its slot
}

}  // namespace percore::server
