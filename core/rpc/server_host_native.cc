// ServerHost with Transport::kNative: percore's own HTTP/2 transport (core/net) instead of
// libgrpc's server. Same services, method tables, admission and drain; see server_host.h.

#include <algorithm>
#include <chrono>
#include <string>

#include "core/net/server.h"
#include "core/rpc/connection_acceptor.h"
#include "core/rpc/native_transport.h"
#include "core/rpc/server_host.h"
#include "core/tls/server_tls_context.h"

namespace percore::rpc {
namespace {

// "HOST:PORT" with HOST an IPv4 literal, "[IPv6]" or "localhost".
bool SplitListen(const std::string& listen, std::string* host, int* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = listen.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (*host == "localhost") *host = "127.0.0.1";
  try {
    size_t used = 0;
    *port = std::stoi(listen.substr(colon + 1), &used);
    return used == listen.size() - colon - 1 && *port >= 0 && *port <= 65535;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

grpc::Status ServerHost::StartNative() {
  if (runtime_.size() == 0 || runtime_.shard(0).loop_mode() != runtime::LoopMode::kEpoll) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "the native transport needs the runtime in LoopMode::kEpoll");
  }
  std::string host;
  int port = 0;
  if (!SplitListen(options_.listen, &host, &port)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "cannot listen on " + options_.listen + ": not HOST:PORT");
  }
  // The same cap as libgrpc's acceptor, dealt out over the shards (each accepts its own).
  native_max_connections_ =
      options_.max_connections > 0 ? options_.max_connections : DefaultMaxConnections();
  net::WireOptions wire;
  wire.max_message_bytes = static_cast<uint32_t>(options_.max_message_bytes);
  wire.max_concurrent_streams = static_cast<uint32_t>(options_.max_concurrent_streams);
  wire.max_header_list_bytes = static_cast<uint32_t>(options_.max_metadata_bytes);
  wire.max_connections_per_shard = static_cast<uint32_t>(
      std::max<size_t>(1, (native_max_connections_ + runtime_.size() - 1) / runtime_.size()));
  wire.max_connection_age = std::chrono::milliseconds(options_.max_connection_age_ms);
  wire.max_connection_age_grace = std::chrono::milliseconds(options_.max_connection_age_grace_ms);
  wire.min_ping_interval = std::chrono::milliseconds(options_.keepalive_min_ping_interval_ms);
  wire.max_ping_strikes = options_.keepalive_max_ping_strikes;
  // Calls carry tokens only where a chain (authentication) reads them.
  wire.reuse_authorization = options_.interceptors != nullptr;

  // TLS (core/net's OpenSSL): the context is made before anything runs, so an error stops here.
  tls::SslCtxPtr tls_context;
  if (options_.tls) {
    auto made = tls::MakeServerTlsContext(*options_.tls);
    if (!made.ok()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, made.message());
    tls_context = *std::move(made);
  }
  runtime_.Start();
  started_ = true;
  InstantiateServices(/*post_requests=*/false);
  native_dispatcher_ = std::make_unique<NativeDispatcher>(tables_, options_.limits);
  net_server_ = std::make_unique<net::Server>(runtime_, *native_dispatcher_, wire);
  net_server_->SetTls(tls_context.get());  // it takes its own reference
  std::string error;
  if (!net_server_->Start(host, port, &error)) {
    net_server_.reset();
    runtime_.Stop();
    stopped_ = true;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "cannot listen on " + options_.listen + ": " + error);
  }
  port_ = net_server_->port();
  // --health-listen: a second listener on every shard, plaintext, serving health alone.
  if (!options_.health_listen.empty()) {
    std::string health_host;
    int health_port = 0;
    std::string why;
    bool listening = SplitListen(options_.health_listen, &health_host, &health_port);
    if (listening) {
      health_dispatcher_ = std::make_unique<HealthOnlyDispatcher>(*native_dispatcher_);
      health_server_ = std::make_unique<net::Server>(runtime_, *health_dispatcher_, wire);
      listening = health_server_->Start(health_host, health_port, &why);
    } else {
      why = "not HOST:PORT";
    }
    if (!listening) {
      health_server_.reset();
      net_server_->Stop();
      net_server_.reset();
      runtime_.Stop();
      stopped_ = true;
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "--health-listen: cannot listen on " +
                                                             options_.health_listen + ": " + why);
    }
    health_port_ = health_server_->port();
  }
  return grpc::Status::OK;
}

void ServerHost::ShutdownNative(std::chrono::milliseconds grace) {
  auto deadline = std::chrono::steady_clock::now() + grace;
  BeginDrain();  // new calls UNAVAILABLE; handlers' OnDrain (health NOT_SERVING, watches end)
  net_server_->Drain();  // GOAWAY everywhere, no more accepts
  if (health_server_) health_server_->Drain();
  WaitForIdle(deadline);
  // Closes every connection (streams still open are cancelled) on every shard, strictly before
  // the runtime stops.
  if (health_server_) health_server_->Stop();
  net_server_->Stop();
  WaitForIdle(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  runtime_.Stop();
  stopped_ = true;
}

}  // namespace percore::rpc
