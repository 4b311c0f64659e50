#pragma once
// Threading contract: Start(), BeginDrain() and Stop() from the control thread (main). The
// HTTP side runs on the http::Server's own thread (one io thread: parsing, routing, WebSocket
// frames); every call runs on a shard (the owner of its key when the route has one), started
// there through the shard's method table; answers come back to the io thread through
// http::Server::Post (lock-free). No lock is shared between the io thread and the shards.
//
// The HTTP/1.1 + WebSocket gateway (issue 11): REST routes (routes.h), `POST /{pkg.Service}/
// {Method}` for any hosted unary method, WebSockets for the watches and the chat, the web page
// at `/`. services/gateway/README.md has the routes, the error mapping and the threads.

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/http/http_server.h"
#include "core/rpc/call_limits.h"
#include "core/rpc/server_host.h"
#include "core/runtime/runtime.h"
#include "services/gateway/edge_trace.h"
#include "services/gateway/gateway_call.h"
#include "services/gateway/http_metrics.h"
#include "services/remote/remote_peer.h"

namespace percore::gateway {

struct GatewayOptions {
  std::string listen;  // HOST:PORT
  size_t max_body_bytes = 1024 * 1024;
  size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  size_t max_connections = 10'000;
  // The deadline a REST call gets, and the most a `Grpc-Timeout` or `X-Request-Timeout`
  // header may ask for.
  std::chrono::milliseconds call_timeout{30'000};
  size_t max_websocket_message_bytes = 64 * 1024;
  // Directory of the web page's static files (index.html, ...); "" serves none.
  std::string web_root;
  // The services that are --peers (not hosted), by full name: their calls are forwarded over
  // the peer's channels (peer_call.h). A service neither hosted nor here answers 503.
  std::unordered_map<std::string, std::shared_ptr<remote::RemotePeer>> peers;
  // Where the answers are counted (the admin /metrics reads it); nullptr: not counted. Outlives
  // the gateway.
  HttpMetrics* metrics = nullptr;
  // HTTPS (--tls-*): OpenSSL's context for the connections (the server takes its own
  // reference); nullptr: plaintext.
  SSL_CTX* tls = nullptr;
};

class Gateway final : public http::WebSocketHandler {
 public:
  // `host` is started; `limits` are the calls' (admission caps, message size).
  Gateway(runtime::Runtime& runtime, const rpc::ServerHost& host, rpc::CallLimits limits,
          GatewayOptions options);
  ~Gateway() override;

  bool Start(std::string* error);
  int port() const { return server_ ? server_->port() : 0; }
  // New requests get 503; WebSocket calls are ended (4014, "server is shutting down").
  void BeginDrain();
  void Stop();
  // SIGHUP: new connections use `tls` (open ones keep theirs). Only when started with TLS.
  void ReloadTls(SSL_CTX* tls) {
    if (server_ && server_->tls()) server_->SetTlsContext(tls);
  }

  // http::WebSocketHandler (io thread).
  bool Accepts(std::string_view path) const override;
  void OnOpen(http::Server& server, http::ExchangeId id, http::Request&& request) override;
  void OnText(http::Server& server, http::ExchangeId id, std::string&& text) override;
  void OnClosed(http::Server& server, http::ExchangeId id) override;
  void OnDrained(http::Server& server, http::ExchangeId id, size_t frames) override;

 private:
  struct StaticFile {
    std::string content_type;
    std::string body;
  };
  struct Socket {  // a WebSocket's call, as the io thread knows it
    runtime::ShardId shard;
    bool reads_client;
  };

  void OnRequest(http::Server& server, http::ExchangeId id, http::Request&& request);
  // Starts `method` on `shard` with `body` as its one request (none for bidi).
  void StartCall(runtime::ShardId shard, std::string method, CallSpec spec, std::string body,
                 bool one_request);
  // Fills the call's metadata, peer, deadline from the request.
  void FillSpec(const http::Request& request, CallSpec& spec) const;
  runtime::ShardId PickShard(ShardKey key, std::string_view value);
  // The service of "/pkg.Service/Method" is hosted here, or is a --peer.
  bool Reachable(std::string_view method_path) const;
  // The peer serving the service of `method_path`, or nullptr (hosted, or unknown).
  const std::shared_ptr<remote::RemotePeer>* PeerOf(std::string_view method_path) const;
  void LoadStaticFiles();

  runtime::Runtime& runtime_;
  const rpc::ServerHost& host_;
  const rpc::CallLimits limits_;
  GatewayOptions options_;
  std::unordered_set<std::string> hosted_;                // service full names
  std::unordered_map<std::string, StaticFile> files_;     // by URL path
  std::unordered_map<http::ExchangeId, Socket> sockets_;  // io thread only
  uint32_t next_shard_ = 0;                               // io thread only
  EdgeTrace edge_trace_;                                  // io thread only
  std::unique_ptr<http::Server> server_;
};

}  // namespace percore::gateway
