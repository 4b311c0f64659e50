#pragma once
// Threading contract: every method from one control thread that is not a shard (Shutdown()
// blocks while the shards keep polling, as gRPC requires).
//
// Builds the grpc::Server around a Runtime: one ServerCompletionQueue per shard, every service
// registered raw, server reflection, and the builder settings a production server needs
// (explicit message size limit, streams per connection, keepalive enforcement, maximum
// connection age so client-side balancers see new replicas, SO_REUSEPORT off, a memory quota).
// Then each shard creates its own handler objects and posts its requests. gRPC has no listening
// port of its own: a ConnectionAcceptor accepts (capped, surviving fd exhaustion) and hands it
// each connection.
//
// With Transport::kNative no grpc::Server is built: each shard listens itself (net::Server,
// SO_REUSEPORT) and a NativeDispatcher starts calls through the same method tables
// (server_host_native.cc). Its shutdown: refuse new calls, GOAWAY on every connection, in-flight
// calls finish until the grace deadline, net::Server::Stop() cancels the rest, then the runtime.
//
// Shutdown order (GRPC-NOTES.md): refuse new calls, let in-flight calls finish until the grace
// deadline, stop accepting (the acceptor's thread is joined, so nothing is handed to gRPC after
// this), Server::Shutdown(deadline) cancels the rest, then the runtime shuts down and drains
// each completion queue and joins the shards.

#include <grpcpp/server.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/observe/grpc_server_metrics.h"
#include "core/rpc/call_interceptor.h"
#include "core/rpc/call_limits.h"
#include "core/rpc/connection_acceptor.h"
#include "core/rpc/service_def.h"
#include "core/runtime/runtime.h"
#include "core/tls/tls_material.h"

namespace percore::net {
class Server;
}
namespace percore::tls {
class ReloadableServerCredentials;
}

namespace percore::rpc {

class NativeDispatcher;
class HealthOnlyDispatcher;

// Which transport carries the calls: libgrpc's (the reference) or percore's own HTTP/2 one
// (core/net; the Runtime must then run LoopMode::kEpoll). The handlers, method tables,
// admission and drain are the same.
enum class Transport { kGrpc, kNative };

struct ServerOptions {
  std::string listen = "127.0.0.1:50051";
  Transport transport = Transport::kGrpc;
  int max_message_bytes = 4 * 1024 * 1024;
  int max_concurrent_streams = 1024;  // per connection
  int max_connection_age_ms = 30 * 60 * 1000;
  int max_connection_age_grace_ms = 5 * 60 * 1000;
  int keepalive_min_ping_interval_ms = 10 * 1000;  // pings more often than this are strikes
  int keepalive_max_ping_strikes = 2;
  bool reuse_port = false;
  // Connections served at once; past it new ones are closed at accept (ConnectionAcceptor).
  // 0: three quarters of the soft fd limit.
  int max_connections = 0;
  // gRPC's resource quota: the memory gRPC itself may use for connections and calls (read
  // buffers, header blocks, messages being received). Past it gRPC closes connections rather
  // than grow. 0: max(256 MiB, 4 x max_message_bytes).
  int64_t grpc_memory_limit_bytes = 0;
  // Largest header block (metadata) a request may carry: gRPC's own default, made explicit.
  int max_metadata_bytes = 8 * 1024;
  // Serves the grpc.reflection.* registrations added (services/reflection); false leaves them out.
  bool reflection = true;
  // abseil's Mutex deadlock detection (on in Debian's build) records every lock gRPC takes in a
  // global graph: measurable per call (callgrind: ~1.5% of a GetUser). Off unless asked for.
  bool mutex_deadlock_detection = false;
  // gRPC's minimal filter stack: no message-size or deadline filters (about 10% fewer
  // instructions per unary call, callgrind). The calls then check the message size themselves
  // (after receipt); deadlines still reach handlers and clients still enforce theirs.
  bool minimal_stack = false;
  CallLimits limits;
  // The call chain (authentication, ...) every call passes before its handler; nullptr: none.
  std::shared_ptr<const InterceptorChain> interceptors;
  // --- TLS and the health port (core/tls) ---
  // Set: the listening port serves TLS with this checked material (mutual TLS when it holds
  // client CAs). libgrpc: gRPC 1.51 cannot take an accepted fd with TLS credentials, so gRPC's
  // own listener accepts on that port (no ConnectionAcceptor: --max-connections is not
  // enforced there, and gRPC's accept loop has its EMFILE weakness; see the README). Native:
  // OpenSSL in core/net, every limit unchanged.
  std::optional<tls::TlsMaterial> tls;
  // HOST:PORT serving grpc.health.v1.Health only, in plaintext, for probes that cannot speak
  // TLS; the chain must then start with a HealthListenerInterceptor. Empty: none.
  std::string health_listen;
};

class ServerHost {
 public:
  ServerHost(runtime::Runtime& runtime, ServerOptions options);
  ~ServerHost();  // Shutdown(0) if still serving
  ServerHost(const ServerHost&) = delete;
  ServerHost& operator=(const ServerHost&) = delete;

  void AddService(std::shared_ptr<ServiceRegistration> service);

  // Binds, starts the runtime's shards on the server's queues, and returns once every shard
  // has its handlers and posted requests. An error names the address when it cannot listen.
  grpc::Status Start();
  int port() const { return port_; }
  int health_port() const { return health_port_; }  // after Start() with health_listen
  // SIGHUP: connections accepted from now on handshake with `material` (checked; client CAs
  // present as at start); open ones keep their session. After Start() with ServerOptions::tls.
  Status ReloadTls(const tls::TlsMaterial& material);
  // After Start(): the connection cap in force, and the gRPC memory quota.
  int max_connections() const {
    return acceptor_ ? acceptor_->max_connections() : native_max_connections_;
  }
  int64_t grpc_memory_limit_bytes() const { return grpc_memory_limit_bytes_; }
  std::vector<std::string> service_names() const;

  // Refuses new calls (UNAVAILABLE) and tells handlers (OnDrain). Returns when every shard has.
  void BeginDrain();
  // True once no call is in flight on any shard, false at `deadline`.
  bool WaitForIdle(std::chrono::steady_clock::time_point deadline) const;
  int64_t live_calls() const;
  // Call objects of this server alive now, posted requests included (after Start(); still
  // readable after Shutdown() while the runtime exists). Tests use it to prove no path leaks.
  int64_t live_call_objects() const;
  // The native transport's server (Transport::kNative, after Start()), for its counters.
  const net::Server* native_server() const { return net_server_.get(); }
  // Every hosted method on `shard`, by path, for a transport other than libgrpc to start calls
  // through (method_table.h). After Start(); from that shard's thread only.
  const MethodTable& methods(runtime::ShardId shard) const { return tables_.at(shard); }
  // Each shard's gRPC server metrics (core/observe), by shard: after Start(), from any thread,
  // while the runtime exists (a scrape reads them).
  const std::vector<const observe::GrpcServerShardMetrics*>& grpc_metrics() const {
    return grpc_metrics_;
  }
  // The whole shutdown sequence; returns when the runtime's threads are joined.
  void Shutdown(std::chrono::milliseconds grace);

 private:
  // Every shard makes its handler objects and method table (and posts libgrpc's requests when
  // `post_requests`).
  void InstantiateServices(bool post_requests);
  grpc::Status StartNative();  // server_host_native.cc
  void ShutdownNative(std::chrono::milliseconds grace);

  runtime::Runtime& runtime_;
  ServerOptions options_;
  std::vector<std::shared_ptr<ServiceRegistration>> services_;
  std::unique_ptr<ConnectionAcceptor> acceptor_;  // listens; hands connections to server_
  // With TLS, the health port's acceptor (the main port is gRPC's own listener then).
  std::unique_ptr<ConnectionAcceptor> health_acceptor_;
  std::shared_ptr<tls::ReloadableServerCredentials> tls_;  // outlives server_ (gRPC calls it)
  std::unique_ptr<grpc::Server> server_;
  // [shard][service]; touched only by its shard while running, here after the runtime stopped.
  std::vector<std::vector<std::unique_ptr<ShardServiceInstance>>> instances_;
  std::vector<MethodTable> tables_;                   // by shard; built on each at Start()
  std::vector<const LiveCallObjects*> live_objects_;  // by shard; set at Start()
  // Transport::kNative: the dispatcher over tables_ and the per-shard listeners; destroyed after
  // the handler objects (which may still hold calls whose streams count in the server).
  std::unique_ptr<NativeDispatcher> native_dispatcher_;
  std::unique_ptr<net::Server> net_server_;
  // Transport::kNative with health_listen: the plaintext health port's listeners.
  std::unique_ptr<HealthOnlyDispatcher> health_dispatcher_;
  std::unique_ptr<net::Server> health_server_;
  int native_max_connections_ = 0;
  std::vector<const observe::GrpcServerShardMetrics*> grpc_metrics_;  // by shard; set at Start()
  int port_ = 0;
  int health_port_ = 0;
  int64_t grpc_memory_limit_bytes_ = 0;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace percore::rpc
