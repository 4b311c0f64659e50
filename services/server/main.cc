// percore-server: hosts the chosen services on a thread-per-core runtime until SIGTERM/SIGINT,
// then drains (health NOT_SERVING, new calls refused, in-flight calls finish within the grace
// period; then calls still waiting on --peer services are cancelled) and exits 0. SIGHUP is
// ignored with a log line: nothing is reloadable yet, and its default action would kill the
// process without draining.

#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <latch>
#include <mutex>
#include <string>
#include <thread>

#include "core/durability/data_dir_lock.h"
#include "core/observe/tracer.h"
#include "core/rpc/auth_interceptor.h"
#include "core/rpc/connection_acceptor.h"
#include "core/rpc/server_host.h"
#include "core/runtime/runtime.h"
#include "services/server/access_table.h"
#include "services/server/admin_endpoint.h"
#include "services/server/protobuf_log.h"
#include "services/server/server_flags.h"
#include "services/server/service_catalog.h"

namespace {

// --jwt-* and --peer-token-file: the authentication interceptor in front of every handler, and
// the token presented to peers. False (after a message) when a key or token file is unusable.
bool ConfigureAuth(percore::server::ServerFlags& flags, size_t shards,
                   percore::server::BuiltServices& built) {
  using namespace percore;
  Result<std::shared_ptr<const auth::JwtVerifier>> verifier = server::BuildJwtVerifier(flags.auth);
  Result<std::string> peer_authorization = server::PeerAuthorization(flags.auth);
  for (const Status& status : {verifier.status(), peer_authorization.status()}) {
    if (!status.ok()) {
      std::fprintf(stderr, "percore-server: %s\n", status.message().c_str());
      return false;
    }
  }
  for (auto& peer : built.peers) peer->SetAuthorization(*peer_authorization);
  if (*verifier) {
    auto chain = std::make_shared<rpc::InterceptorChain>();
    chain->Add(
        std::make_unique<rpc::AuthInterceptor>(*verifier, server::PercoreAccessPolicy(), shards));
    flags.server.interceptors = std::move(chain);
    std::fprintf(stderr, "percore-server: JWT authentication on (%zu key%s)\n",
                 (*verifier)->options().keys.size(),
                 (*verifier)->options().keys.size() == 1 ? "" : "s");
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace percore;
  std::string error;
  std::optional<server::ServerFlags> flags = server::ParseServerFlags(argc, argv, &error);
  if (!flags) {
    std::fprintf(stderr, "percore-server: %s\n", error.c_str());
    return 2;
  }
  if (flags->help) {
    std::fputs(server::ServerUsage().c_str(), stdout);
    return 0;
  }
  durability::DataDirLock data_dir_lock;
  std::optional<server::BuiltServices> built =
      server::BuildServices(flags->services, flags->peers, flags->durability, &error);
  if (!built) {
    std::fprintf(stderr, "percore-server: %s\n", error.c_str());
    return 2;
  }

  server::InstallProtobufLogHandler();
  // Every connection costs a descriptor: take all the kernel allows (the soft limit is often
  // 1024), and cap connections below it (--max-connections).
  int64_t fd_limit_before = 0;
  int64_t fd_limit = rpc::RaiseFileLimit(&fd_limit_before);
  std::fprintf(stderr, "percore-server: file descriptor limit %lld (soft limit was %lld)\n",
               static_cast<long long>(fd_limit), static_cast<long long>(fd_limit_before));

  // Block the shutdown signals before any thread starts, so every thread inherits the mask
  // and only sigwait() below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // --trace-log: made once the shard count is known, but declared before the runtime so that it
  // outlives the shard threads (each holds a pointer to its ShardTracer).
  std::unique_ptr<observe::Tracer> tracer;
  // The native transport runs each shard in epoll (its sockets); libgrpc's, in the queue.
  const bool native = flags->server.transport == rpc::Transport::kNative;
  runtime::Runtime runtime(runtime::RuntimeOptions{
      .shards = flags->shards,
      .loop = native ? runtime::LoopMode::kEpoll : runtime::LoopMode::kCompletionQueue,
      // Each shard finds its tracer through a thread_local, set before it serves anything.
      .on_thread_start = [&tracer](runtime::Shard& shard) {
        if (tracer) observe::ShardTracer::SetCurrent(&tracer->shard(shard.id()));
      }});
  // --admin: listening before recovery, so /readyz answers 503 until the server serves.
  server::AdminEndpoint admin(runtime);
  // grpc_client_*: each peer's per-shard counters, now that the shard count is known.
  std::vector<const observe::GrpcClientMetrics*> client_metrics;
  for (auto& peer : built->peers) {
    peer->metrics().Start(runtime.size());
    client_metrics.push_back(&peer->metrics());
  }
  admin.SetClientMetrics(std::move(client_metrics));
  if (!flags->trace_log.empty()) {
    std::string process;
    for (const std::string& name : flags->services) process += (process.empty() ? "" : ",") + name;
    tracer = std::make_unique<observe::Tracer>(
        observe::TracerOptions{.path = flags->trace_log,
                               .sample_ratio = flags->trace_sample_ratio,
                               .process = process.empty() ? "all" : process},
        runtime.size());
    if (!tracer->Start(&error)) {
      std::fprintf(stderr, "percore-server: --trace-log: %s\n", error.c_str());
      return 1;
    }
    std::fprintf(stderr, "percore-server: tracing to %s, sample ratio %g\n",
                 flags->trace_log.c_str(), flags->trace_sample_ratio);
    admin.SetTracer(tracer.get());
  }
  if (!flags->admin.empty()) {
    if (!admin.Start(flags->admin, &error)) {
      std::fprintf(stderr, "percore-server: --admin: %s\n", error.c_str());
      return 1;
    }
    std::fprintf(stderr, "percore-server: admin listening on %s (port %d)\n", flags->admin.c_str(),
                 admin.port());
  }
  // Durable state: hold the data directory for the life of the process (data_dir_lock is
  // declared before the services, so it is released after their logs are closed), then recover
  // every durable service before a shard serves (so nothing answers from a half-loaded store).
  if (flags->durability.enabled()) {
    Result<durability::DataDirLock> lock =
        durability::DataDirLock::Acquire(flags->durability.data_dir);
    if (!lock.ok()) {
      std::fprintf(stderr, "percore-server: %s\n", lock.message().c_str());
      return 1;
    }
    data_dir_lock = std::move(*lock);
    for (auto& recover : built->recoveries) {
      std::string report;
      Status recovered = recover(runtime.size(), &report);
      std::fputs(report.c_str(), stderr);
      if (!recovered.ok()) {
        std::fprintf(stderr, "percore-server: recovery of %s failed: %s\n",
                     flags->durability.data_dir.c_str(), recovered.message().c_str());
        return 1;
      }
    }
    std::fprintf(stderr, "percore-server: state in %s, --fsync %s\n",
                 flags->durability.data_dir.c_str(),
                 std::string(durability::FsyncPolicyName(flags->durability.fsync)).c_str());
  }
  if (!ConfigureAuth(*flags, runtime.size(), *built)) return 2;
  rpc::ServerHost host(runtime, flags->server);
  for (auto& s : built->registrations) host.AddService(s);
  grpc::Status started = host.Start();
  if (!started.ok()) {
    std::fprintf(stderr, "percore-server: %s\n", started.error_message().c_str());
    return 1;
  }
  admin.SetHost(&host);
  admin.SetReady(true);
  std::string listen = flags->server.listen;
  std::string host_part = listen.substr(0, listen.rfind(':'));
  std::printf("percore-server listening on %s:%d with %zu shards; services:", host_part.c_str(),
              host.port(), runtime.size());
  for (const std::string& name : host.service_names()) std::printf(" %s", name.c_str());
  std::printf("\n");
  std::fflush(stdout);
  if (native) {
    std::fprintf(stderr, "percore-server: native transport, up to %d connections\n",
                 host.max_connections());
  } else {
    std::fprintf(stderr, "percore-server: up to %d connections, gRPC memory limit %lld bytes\n",
                 host.max_connections(), static_cast<long long>(host.grpc_memory_limit_bytes()));
  }

  int signal_number = 0;
  for (;;) {
    sigwait(&signals, &signal_number);
    if (signal_number != SIGHUP) break;
    std::fprintf(stderr, "percore-server: SIGHUP ignored (nothing to reload), still serving\n");
  }
  admin.SetReady(false);
  std::fprintf(stderr, "percore-server: %s, draining (grace %.1fs)\n",
               signal_number == SIGTERM ? "SIGTERM" : "SIGINT", flags->shutdown_grace_seconds);
  auto grace =
      std::chrono::milliseconds(static_cast<long long>(flags->shutdown_grace_seconds * 1000));

  // Once the grace period is over, calls still waiting on peers are cancelled: each shard's queue
  // can only drain once they complete, which would otherwise wait for their deadlines.
  std::mutex stopped_mutex;
  std::condition_variable stopped_changed;
  bool stopped = false;
  std::thread peer_closer;
  if (!built->peers.empty()) {
    auto grace_over = std::chrono::steady_clock::now() + grace;
    peer_closer = std::thread([&, grace_over] {
      std::unique_lock lock(stopped_mutex);
      if (stopped_changed.wait_until(lock, grace_over, [&] { return stopped; })) return;
      // A shard that has already closed refuses the task; one that is closing still runs it.
      runtime.RunOnAll([&peers = built->peers](runtime::Shard& shard) {
        for (auto& peer : peers) peer->Close(shard);
      });
    });
  }
  host.Shutdown(grace);
  if (native) {
    // Every call object of the native transport is freed by now (tests read this line).
    std::fprintf(stderr, "percore-server: native transport stopped, %lld call objects alive\n",
                 static_cast<long long>(host.live_call_objects()));
  }
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
  std::fprintf(stderr, "percore-server: stopped\n");
  return 0;
}
