#pragma once
// Threading contract: construct, Start(), Drain(), Stop() and the read-outs from one control
// thread (not a shard); the Runtime must run in LoopMode::kEpoll and be started first, and be
// stopped only after Stop(). Streams the application still holds after Stop() must be released
// before the Server is destroyed (their counters live here).
//
// percore's own gRPC server transport (step one of --transport native): every shard listens on
// the same port with SO_REUSEPORT (shard 0 binds first, so port 0 works: the others bind the
// port it got), accepts on its own loop and serves its connections for life with nghttp2 and
// gRPC's wire protocol, handing byte-level Streams to the Dispatcher on that shard's thread.

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "core/net/dispatcher.h"
#include "core/net/wire_options.h"
#include "core/runtime/runtime.h"

namespace percore::net {

class ShardServer;

class Server {
 public:
  Server(runtime::Runtime& runtime, Dispatcher& dispatcher, WireOptions options = {});
  ~Server();  // Stop()s if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds HOST:PORT (an IPv4 or IPv6 literal; port 0 picks one) on every shard and starts
  // accepting. False with *error when it cannot.
  bool Start(const std::string& host, int port, std::string* error);
  // TLS (core/tls/server_tls_context.h): connections accepted from now on handshake with `ctx`
  // (each shard takes its own reference); open ones keep theirs. Before Start() or while
  // running (a SIGHUP reload: returns once every shard has it). nullptr: plaintext.
  void SetTls(SSL_CTX* ctx);
  int port() const { return port_; }

  // Graceful: stops accepting and sends GOAWAY on every connection; calls in flight finish and
  // each connection closes once it has none. Returns at once.
  void Drain();
  // Closes every connection (open streams are cancelled) and waits until every shard has.
  void Stop();

  // Summed over shards (each read relaxed).
  int64_t open_connections() const;
  int64_t live_streams() const;
  int64_t cancelled_streams() const;
  int64_t authorization_reuses() const;
  int64_t streams_total() const;
  int64_t accept_errors() const;
  const WireStats& stats(runtime::ShardId shard) const { return *stats_[shard]; }

 private:
  int64_t Sum(std::atomic<int64_t> WireStats::*counter) const;

  runtime::Runtime& runtime_;
  Dispatcher& dispatcher_;
  const WireOptions options_;
  std::vector<std::unique_ptr<WireStats>> stats_;
  std::vector<ShardServer*> shard_servers_;  // each owned by (and touched only on) its shard
  int port_ = 0;
  bool running_ = false;
  SSL_CTX* tls_ = nullptr;  // our reference; the shards hold theirs
};

}  // namespace percore::net
