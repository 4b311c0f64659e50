#pragma once
// Threading contract: construct, Start(), SetHost(), SetReady() and Stop() from main's control
// thread; the requests are served on the HTTP server's own thread (core/http), which reads the
// shards' metrics as relaxed atomics that only their shards write (core/observe) and takes no
// lock any call path takes. The state series (StateReader) are read on each shard's own thread:
// a scrape posts one task per shard and waits for them (at most kStateWait; a shard that does not
// answer in time is left out of that scrape); the tasks hand their samples over under a mutex
// only they and the scrape take. The Runtime, and the ServerHost once set, must outlive Stop().
//
// percore-server's admin listener (--admin HOST:PORT): /metrics (Prometheus text format 0.0.4:
// grpc_server_*, grpc_client_*, percore_shard_*, the state series of core/observe/state_metrics.h,
// process_*), /healthz (200 while the process runs),
// /readyz (200 once the server serves; 503 before, during recovery, and from the start of
// draining). Over TLS with --tls-client-ca the handshake asks for a client certificate without
// requiring one, so Kubernetes httpGet probes reach /healthz and /readyz; every other path
// (/metrics) answers 403 unless the connection's certificate verified (a presented certificate
// that does not verify fails the handshake, as on the gRPC port). 403, not 401: 401 needs a
// WWW-Authenticate challenge, and no HTTP scheme asks for a TLS certificate.

#include <prometheus/metric_family.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/http/http_server.h"
#include "core/observe/grpc_client_metrics.h"
#include "core/observe/state_metrics.h"
#include "core/observe/tracer.h"
#include "core/rpc/server_host.h"
#include "core/runtime/runtime.h"
#include "services/server/state_reader.h"

namespace percore::server {

class AdminEndpoint {
 public:
  // How long a scrape waits for the shards' state samples.
  static constexpr std::chrono::milliseconds kStateWait{500};

  explicit AdminEndpoint(runtime::Runtime& runtime) : runtime_(runtime) {}
  ~AdminEndpoint() { Stop(); }

  // Listens on `listen` and serves (over TLS with `tls`, OpenSSL's context: --tls-*); false
  // with `error` when it cannot listen.
  bool Start(const std::string& listen, std::string* error, SSL_CTX* tls = nullptr);
  // SIGHUP: new connections use `tls` (connections open keep theirs). Control thread.
  void ReloadTls(SSL_CTX* tls);
  int port() const { return server_ ? server_->port() : 0; }
  // The server whose calls /metrics reports, once it has started.
  void SetHost(const rpc::ServerHost* host) { host_.store(host, std::memory_order_release); }
  // The calls to peers /metrics reports (grpc_client_*): before Start(), or never.
  void SetClientMetrics(std::vector<const observe::GrpcClientMetrics*> peers) {
    client_metrics_ = std::move(peers);
  }
  // --trace-log's tracer, whose span counts /metrics reports: before Start(), or never.
  void SetTracer(const observe::Tracer* tracer) { tracer_ = tracer; }
  // The hosted services' state readers (services/server/service_catalog.h), run once SetHost()
  // has been called: before Start(), or never.
  void SetStateReaders(std::vector<StateReader> readers) {
    state_readers_ = std::make_shared<const std::vector<StateReader>>(std::move(readers));
  }
  // More families for /metrics (the HTTP gateway's, services/gateway/http_metrics.h), called on
  // the admin thread at each scrape: before Start(), or never.
  using FamilySource = std::function<void(std::vector<prometheus::MetricFamily>*)>;
  void AddFamilies(FamilySource source) { sources_.push_back(std::move(source)); }
  void SetReady(bool ready) { ready_.store(ready, std::memory_order_release); }
  void Stop() {
    if (server_) server_->Stop();
  }

 private:
  // Whether `tls` requires client certificates (--tls-client-ca).
  static bool RequiresClientCertificate(SSL_CTX* tls);
  // The Kubernetes probes' paths, open without a client certificate.
  static bool IsProbe(std::string_view path);
  http::Response Metrics() const;
  // Each shard's samples from state_readers_ (an empty list for a shard that did not answer).
  std::vector<std::vector<observe::StateSample>> ReadState() const;

  runtime::Runtime& runtime_;
  std::atomic<const rpc::ServerHost*> host_{nullptr};
  std::vector<const observe::GrpcClientMetrics*> client_metrics_;  // fixed before Start()
  const observe::Tracer* tracer_ = nullptr;                        // fixed before Start()
  // Fixed before Start(); shared with the shard tasks of a scrape, which may outlive it.
  std::shared_ptr<const std::vector<StateReader>> state_readers_;
  std::vector<FamilySource> sources_;  // fixed before Start()
  std::atomic<bool> ready_{false};
  // --tls-client-ca: paths but the probes need a verified client certificate (403 without).
  // Set on the control thread (Start, ReloadTls), read on the admin thread.
  std::atomic<bool> certificate_required_{false};
  std::unique_ptr<http::Server> server_;
};

}  // namespace percore::server
