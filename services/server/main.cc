// percore-server: hosts the chosen services on a thread-per-core runtime until SIGTERM/SIGINT,
// then drains (health NOT_SERVING, new calls refused, in-flight calls finish within the grace
// period; then calls still waiting on --peer services are cancelled) and exits 0. SIGHUP reloads
// the --tls-* files (new connections get the new certificate; a bad file is refused with a log
// line and the old one stays), the --peer-tls-* files and the JWT keys; with none of them it is
// ignored with a log line (its default action would kill the process without draining).

#include <grpc/support/log.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

#include "core/cluster/data_dir_placement.h"
#include "core/durability/data_dir_lock.h"
#include "core/observe/log.h"
#include "core/observe/tracer.h"
#include "core/rpc/auth_interceptor.h"
#include "core/rpc/connection_acceptor.h"
#include "core/rpc/server_host.h"
#include "core/runtime/runtime.h"
#include "core/tls/server_tls_context.h"
#include "services/cluster/cluster_admin.h"
#include "services/cluster/cluster_setup.h"
#include "services/cluster/growth_lease.h"
#include "services/cluster/live_membership.h"
#include "services/gateway/gateway.h"
#include "services/gateway/peer_call.h"
#include "services/server/admin_endpoint.h"
#include "services/server/protobuf_log.h"
#include "services/server/security_setup.h"
#include "services/server/server_flags.h"
#include "services/server/service_catalog.h"

namespace {

// gRPC's own log lines (gpr_log) as percore's, so that --log-format json holds for every line.
void GrpcLogLine(gpr_log_func_args* args) {
  using percore::observe::LogLevel;
  LogLevel level = args->severity == GPR_LOG_SEVERITY_ERROR  ? LogLevel::kError
                   : args->severity == GPR_LOG_SEVERITY_INFO ? LogLevel::kInfo
                                                             : LogLevel::kDebug;
  percore::observe::Log(level, "grpc %s:%d] %s", args->file, args->line, args->message);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace percore;
  std::string error;
  std::optional<server::ServerFlags> flags = server::ParseServerFlags(argc, argv, &error);
  if (!flags) {
    observe::Log(observe::LogLevel::kError, "percore-server: %s\n", error.c_str());
    return 2;
  }
  if (flags->help) {
    std::fputs(server::ServerUsage().c_str(), stdout);
    return 0;
  }
  // Before any thread starts (core/observe/log.h). In JSON, gRPC's own lines go through it too
  // (in text they keep gRPC's format, as before).
  observe::SetLogFormat(flags->log_format);
  observe::SetLogLevel(flags->log_level);
  if (flags->log_format == observe::LogFormat::kJson) gpr_set_log_function(GrpcLogLine);
  // Before any service draws an id: ids land on this process's partition (cluster_setup.h).
  std::shared_ptr<cluster::ForwardingRouter> router = cluster::SetUpMember(flags->placement);
  // A partition joining a growing cluster draws nothing until the grow tool unfreezes it.
  // Frozen for the growth its --grown names until switched and unfrozen (growth_lease.h).
  if (flags->cluster.grow_joining) {
    cluster::JoinGrowth(flags->cluster.grown, flags->cluster.members);
  }
  durability::DataDirLock data_dir_lock;
  server::ClientsDecorator cluster_clients;
  if (router) {
    cluster_clients = [&router, &placement = flags->placement](
                          clients::ServiceClients& clients,
                          percore::order::OrderServiceOptions& options) {
      cluster::UseClusterClients(*router, placement, clients, options);
    };
  }
  std::optional<server::BuiltServices> built = server::BuildServices(
      flags->services, flags->peers, flags->durability, cluster_clients, &error);
  if (!built) {
    observe::Log(observe::LogLevel::kError, "percore-server: %s\n", error.c_str());
    return 2;
  }

  if (router && built->user) cluster::AttachUserService(*router, flags->placement, *built->user);
  if (router && built->inventory) {
    cluster::AttachInventoryService(*router, flags->placement, built->inventory);
  }
  // --http: the gateway's own channels to every --peer service (it calls them for its routes,
  // services/gateway/peer_call.h), in built->peers so TLS, metrics and shutdown apply to them.
  std::unordered_map<std::string, std::shared_ptr<remote::RemotePeer>> gateway_peers;
  if (!flags->http.empty()) {
    for (const auto& [name, addresses] : flags->peers) {
      const server::CatalogEntry* entry = server::FindPeerService(name);
      remote::PeerOptions options;
      options.service = entry->full_name;
      options.addresses = addresses;
      auto peer = remote::RemotePeer::Create(std::move(options), &error);
      if (!peer) {
        observe::Log(observe::LogLevel::kError, "percore-server: --peer %s: %s\n", name.c_str(),
                     error.c_str());
        return 2;
      }
      gateway::RegisterPeerMethods(*peer);  // its grpc_client_* series, at zero
      built->peers.push_back(peer);
      gateway_peers[entry->full_name] = std::move(peer);
    }
  }

  server::InstallProtobufLogHandler();
  // Every connection costs a descriptor: take all the kernel allows (the soft limit is often
  // 1024), and cap connections below it (--max-connections).
  int64_t fd_limit_before = 0;
  int64_t fd_limit = rpc::RaiseFileLimit(&fd_limit_before);
  observe::Log(observe::LogLevel::kInfo,
               "percore-server: file descriptor limit %lld (soft limit was %lld)\n",
               static_cast<long long>(fd_limit), static_cast<long long>(fd_limit_before));

  // Block the shutdown signals before any thread starts, so every thread inherits the mask
  // and only sigwait() below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGUSR1);  // recovery's resumers are done (sent by this process)
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A write to a connection the client has closed must fail with EPIPE, not kill the process:
  // OpenSSL's socket BIO (TLS on the native transport) writes without MSG_NOSIGNAL.
  signal(SIGPIPE, SIG_IGN);
  // A log write past a file size limit (RLIMIT_FSIZE) must fail with EFBIG and be refused like a
  // full disk (UNAVAILABLE), not kill the process.
  signal(SIGXFSZ, SIG_IGN);

  // --trace-log: made once the shard count is known, but declared before the runtime so that it
  // outlives the shard threads (each holds a pointer to its ShardTracer).
  std::unique_ptr<observe::Tracer> tracer;
  // The native transport runs each shard in epoll (its sockets); libgrpc's, in the queue.
  const bool native = flags->server.transport == rpc::Transport::kNative;
  runtime::Runtime runtime(runtime::RuntimeOptions{
      .shards = flags->shards,
      .loop = native ? runtime::LoopMode::kEpoll : runtime::LoopMode::kCompletionQueue,
      // Each shard finds its tracer through a thread_local, set before it serves anything.
      .on_thread_start =
          [&tracer](runtime::Shard& shard) {
            if (tracer) observe::ShardTracer::SetCurrent(&tracer->shard(shard.id()));
          },
      .idle_poll = std::chrono::microseconds(flags->idle_poll_us)});
  // --admin: listening before recovery, so /readyz answers 503 until the server serves.
  // The gateway's HTTP series (--http): declared before the admin listener that reads them.
  std::unique_ptr<gateway::HttpMetrics> http_metrics;
  server::AdminEndpoint admin(runtime);
  // --http: its requests on /metrics (counted on the gateway's io thread).
  if (!flags->http.empty()) {
    http_metrics = std::make_unique<gateway::HttpMetrics>();
    admin.AddFamilies(
        [metrics = http_metrics.get()](auto* families) { metrics->AppendFamilies(families); });
  }
  // grpc_client_*: each peer's per-shard counters, now that the shard count is known.
  std::vector<const observe::GrpcClientMetrics*> client_metrics;
  for (auto& peer : built->peers) {
    peer->metrics().Start(runtime.size());
    client_metrics.push_back(&peer->metrics());
  }
  admin.SetClientMetrics(std::move(client_metrics));
  admin.SetStateReaders(built->state_readers);
  if (!flags->trace_log.empty()) {
    std::string process;
    for (const std::string& name : flags->services) process += (process.empty() ? "" : ",") + name;
    tracer = std::make_unique<observe::Tracer>(
        observe::TracerOptions{.path = flags->trace_log,
                               .sample_ratio = flags->trace_sample_ratio,
                               .process = process.empty() ? "all" : process},
        runtime.size());
    if (!tracer->Start(&error)) {
      observe::Log(observe::LogLevel::kError, "percore-server: --trace-log: %s\n", error.c_str());
      return 1;
    }
    observe::Log(observe::LogLevel::kInfo, "percore-server: tracing to %s, sample ratio %g\n",
                 flags->trace_log.c_str(), flags->trace_sample_ratio);
    admin.SetTracer(tracer.get());
  }
  // --tls-*: the admin listener and the gateway serve HTTPS with the gRPC side's certificate
  // (and client CA); reloaded with it on SIGHUP.
  tls::SslCtxPtr http_tls;
  if (!server::MakeHttpTls(flags->tls, &http_tls)) return 2;
  if (!flags->admin.empty()) {
    if (!admin.Start(flags->admin, &error, http_tls.get())) {
      observe::Log(observe::LogLevel::kError, "percore-server: --admin: %s\n", error.c_str());
      return 1;
    }
    observe::Log(observe::LogLevel::kInfo, "percore-server: admin listening on %s (port %d)\n",
                 flags->admin.c_str(), admin.port());
  }
  // Durable state: hold the data directory for the life of the process (data_dir_lock is
  // declared before the services, so it is released after their logs are closed), then recover
  // every durable service before a shard serves (so nothing answers from a half-loaded store).
  if (flags->durability.enabled()) {
    Result<durability::DataDirLock> lock =
        durability::DataDirLock::Acquire(flags->durability.data_dir);
    if (!lock.ok()) {
      observe::Log(observe::LogLevel::kError, "percore-server: %s\n", lock.message().c_str());
      return 1;
    }
    data_dir_lock = std::move(*lock);
    // The directory's partition count (and growth) as recorded at its first start: a larger
    // --partitions not explained by --grown is refused before anything is recovered.
    Status placed = cluster::CheckDataDirPlacement(flags->durability.data_dir, flags->placement,
                                                   flags->cluster.grow_joining);
    if (!placed.ok()) {
      observe::Log(observe::LogLevel::kError, "percore-server: %s\n", placed.message().c_str());
      return placed.code() == StatusCode::kFailedPrecondition ? 2 : 1;
    }
    for (auto& recover : built->recoveries) {
      std::string report;
      Status recovered = recover(runtime.size(), &report);
      if (!report.empty()) observe::Log(observe::LogLevel::kInfo, "%s", report.c_str());
      if (!recovered.ok()) {
        observe::Log(observe::LogLevel::kError, "percore-server: recovery of %s failed: %s\n",
                     flags->durability.data_dir.c_str(), recovered.message().c_str());
        return 1;
      }
    }
    observe::Log(observe::LogLevel::kInfo, "percore-server: state in %s, --fsync %s\n",
                 flags->durability.data_dir.c_str(),
                 std::string(durability::FsyncPolicyName(flags->durability.fsync)).c_str());
  }
  const rpc::AuthInterceptor* auth = nullptr;  // for the SIGHUP reload of the JWT keys
  if (!server::ConfigureAuth(*flags, runtime.size(), *built, router, &auth)) return 2;
  // The saga's calls to other members present the peer token, as calls to --peer do.
  if (router) router->links().SetAuthorization(*server::PeerAuthorization(flags->auth));
  if (!server::ConfigureTls(*flags, *built, router ? &router->links() : nullptr)) return 2;
  rpc::ServerHost host(runtime, flags->server);
  for (auto& s : built->registrations) host.AddService(s);
  // A member's side of growing the cluster (tools/cluster grow).
  if (router) {
    host.AddService(cluster::MakeClusterAdminService(runtime, router->shared_links(), built->user));
  }
  grpc::Status started = host.Start();
  if (!started.ok()) {
    observe::Log(observe::LogLevel::kError, "percore-server: %s\n",
                 started.error_message().c_str());
    return 1;
  }
  admin.SetHost(&host);
  // --etcd: register this member and learn the others before the "listening" line (issue 14).
  // A second process for a partition another holds is refused (exit 2, a deployment error);
  // this one's partition taken later (its lease expired meanwhile) stops it: it drains and
  // exits 1 rather than keep writing a partition that is someone else's now (README).
  std::atomic<bool> partition_lost{false};  // before the membership whose thread sets it
  std::unique_ptr<cluster::EtcdMembership> etcd_membership;
  if (router && flags->cluster.live_membership()) {
    bool taken = false;
    etcd_membership = cluster::StartEtcdMembership(
        flags->cluster, flags->placement, flags->server.listen, host.port(), runtime,
        router->links(),
        [&partition_lost, main_thread = pthread_self()](const Status&) {
          partition_lost.store(true);
          pthread_kill(main_thread, SIGTERM);
        },
        &taken, &error);
    if (!etcd_membership) {
      observe::Log(observe::LogLevel::kError, "percore-server: %s\n", error.c_str());
      host.Shutdown(std::chrono::milliseconds(0));
      return taken ? 2 : 1;
    }
  }
  // --http: the gateway calls the hosted handlers in process (services/gateway).
  std::unique_ptr<gateway::Gateway> http_gateway;
  if (!flags->http.empty()) {
    rpc::CallLimits limits = flags->server.limits;
    limits.max_message_bytes = static_cast<size_t>(flags->server.max_message_bytes);
    http_gateway = std::make_unique<gateway::Gateway>(
        runtime, host, limits,
        gateway::GatewayOptions{.listen = flags->http,
                                .max_body_bytes = static_cast<size_t>(flags->http_max_body_bytes),
                                .web_root = PERCORE_WEB_ROOT,
                                .peers = std::move(gateway_peers),
                                .metrics = http_metrics.get(),
                                .tls = http_tls.get()});
    if (!http_gateway->Start(&error)) {
      observe::Log(observe::LogLevel::kError, "percore-server: --http: %s\n", error.c_str());
      host.Shutdown(std::chrono::milliseconds(0));
      return 1;
    }
    observe::Log(observe::LogLevel::kInfo,
                 "percore-server: HTTP gateway listening on %s (port %d)\n", flags->http.c_str(),
                 http_gateway->port());
  }
  // Work recovery left to finish while serving (orders a crash left mid-saga): health says
  // NOT_SERVING and /readyz 503 until it is done, then the main thread hears SIGUSR1.
  auto resumers_left = std::make_shared<std::atomic<size_t>>(built->resumers.size());
  if (built->resumers.empty()) {
    admin.SetReady(true);
  } else {
    observe::Log(observe::LogLevel::kInfo,
                 "percore-server: finishing recovery (NOT_SERVING until done)\n");
    pthread_t main_thread = pthread_self();
    for (auto& resume : built->resumers) {
      resume(runtime, [resumers_left, main_thread] {
        if (resumers_left->fetch_sub(1) == 1) pthread_kill(main_thread, SIGUSR1);
      });
    }
  }
  // Before the line on stdout, so whoever reads that line finds this one (tests do).
  if (!flags->server.health_listen.empty()) {
    observe::Log(observe::LogLevel::kInfo,
                 "percore-server: health listening on %s (port %d, plaintext)\n",
                 flags->server.health_listen.c_str(), host.health_port());
  }
  std::string listen = flags->server.listen;
  std::string host_part = listen.substr(0, listen.rfind(':'));
  std::printf("percore-server listening on %s:%d with %zu shards; services:", host_part.c_str(),
              host.port(), runtime.size());
  for (const std::string& name : host.service_names()) std::printf(" %s", name.c_str());
  std::printf("\n");
  std::fflush(stdout);
  if (native) {
    observe::Log(observe::LogLevel::kInfo,
                 "percore-server: native transport, up to %d connections\n",
                 host.max_connections());
  } else if (flags->server.tls) {
    // gRPC's own listener accepts TLS connections: no cap of percore's (README).
    observe::Log(observe::LogLevel::kInfo,
                 "percore-server: TLS, connections not capped, gRPC memory limit %lld bytes\n",
                 static_cast<long long>(host.grpc_memory_limit_bytes()));
  } else {
    observe::Log(observe::LogLevel::kInfo,
                 "percore-server: up to %d connections, gRPC memory limit %lld bytes\n",
                 host.max_connections(), static_cast<long long>(host.grpc_memory_limit_bytes()));
  }

  int signal_number = 0;
  for (;;) {
    sigwait(&signals, &signal_number);
    if (signal_number == SIGUSR1) {
      if (resumers_left->load() == 0 && !built->resumers.empty()) {
        admin.SetReady(true);  // first: once health says SERVING, /readyz says ready too
        runtime.RunOnAll([health = built->health](runtime::Shard& shard) {
          health->local(shard).SetServing(true);
        });
        observe::Log(observe::LogLevel::kInfo, "percore-server: recovery finished; SERVING\n");
        built->resumers.clear();
      }
      continue;
    }
    if (signal_number != SIGHUP) break;
    if (!flags->server.tls && auth == nullptr && !flags->tls.peer_enabled()) {
      observe::Log(observe::LogLevel::kInfo,
                   "percore-server: SIGHUP ignored (nothing to reload), still serving\n");
      continue;
    }
    if (flags->server.tls) {
      auto material = server::LoadServerTls(flags->tls);
      Status reloaded = material.ok() ? host.ReloadTls(**material) : material.status();
      observe::Log(observe::LogLevel::kWarn, "percore-server: SIGHUP: %s\n",
                   reloaded.ok() ? "TLS certificate reloaded for new connections"
                                 : ("TLS reload refused, keeping the current certificate: " +
                                    reloaded.message())
                                       .c_str());
      // The HTTPS listeners take the same material once gRPC has taken it.
      if (reloaded.ok() && (http_gateway || !flags->admin.empty())) {
        auto context = tls::MakeServerTlsContext(**material, tls::Alpn::kHttp11);
        if (context.ok()) {
          admin.ReloadTls(context->get());
          if (http_gateway) http_gateway->ReloadTls(context->get());
        }
        observe::Log(observe::LogLevel::kInfo, "percore-server: SIGHUP: %s\n",
                     context.ok() ? "HTTPS certificate reloaded for new connections"
                                  : ("HTTPS reload refused: " + context.message()).c_str());
      }
    }
    if (auth != nullptr) server::ReloadJwtKeys(flags->auth, *auth, runtime);
    if (flags->tls.peer_enabled()) {
      server::ReloadPeerCredentials(flags->tls, built->peers, router ? &router->links() : nullptr,
                                    runtime);
    }
  }
  admin.SetReady(false);
  // Leave the cluster first: the others drop this member now, not when its lease expires.
  if (etcd_membership) etcd_membership->Stop();
  observe::Log(observe::LogLevel::kInfo, "percore-server: %s, draining (grace %.1fs)\n",
               partition_lost.load()      ? "partition taken by another process"
               : signal_number == SIGTERM ? "SIGTERM"
                                          : "SIGINT",
               flags->shutdown_grace_seconds);
  auto grace =
      std::chrono::milliseconds(static_cast<long long>(flags->shutdown_grace_seconds * 1000));
  // The gateway refuses new requests and ends its WebSockets; its in-flight calls drain with
  // the gRPC ones below.
  if (http_gateway) http_gateway->BeginDrain();

  // Once the grace period is over, calls still waiting on peers are cancelled: each shard's queue
  // can only drain once they complete, which would otherwise wait for their deadlines.
  std::mutex stopped_mutex;
  std::condition_variable stopped_changed;
  bool stopped = false;
  std::thread peer_closer;
  if (!built->peers.empty() || router) {
    auto grace_over = std::chrono::steady_clock::now() + grace;
    peer_closer = std::thread([&, grace_over] {
      std::unique_lock lock(stopped_mutex);
      if (stopped_changed.wait_until(lock, grace_over, [&] { return stopped; })) return;
      // A shard that has already closed refuses the task; one that is closing still runs it.
      runtime.RunOnAll([&peers = built->peers, &router](runtime::Shard& shard) {
        for (auto& peer : peers) peer->Close(shard);
        if (router) router->links().Close(shard);
      });
    });
  }
  host.Shutdown(grace);
  if (native) {
    // Every call object of the native transport is freed by now (tests read this line).
    observe::Log(observe::LogLevel::kInfo,
                 "percore-server: native transport stopped, %lld call objects alive\n",
                 static_cast<long long>(host.live_call_objects()));
  }
  if (http_gateway) http_gateway->Stop();  // after the shards: nothing posts to it any more
  for (auto& close : built->closers) close();
  {
    std::lock_guard lock(stopped_mutex);
    stopped = true;
  }
  stopped_changed.notify_all();
  if (peer_closer.joinable()) peer_closer.join();
  // Spans name their methods by the bindings' and peers' strings: written before those go.
  if (tracer) tracer->Stop();
  admin.Stop();  // before host: /metrics reads its counters
  observe::Log(observe::LogLevel::kInfo, "percore-server: stopped\n");
  return partition_lost.load() ? 1 : 0;
}
