#include "core/rpc/server_host.h"

#include <absl/synchronization/mutex.h>
#include <grpc/grpc.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/server_posix.h>

#include <algorithm>
#include <latch>
#include <mutex>
#include <thread>

#include "core/net/server.h"
#include "core/rpc/native_transport.h"
#include "core/tls/reloadable_server_credentials.h"
#include "core/tls/server_tls_context.h"

namespace percore::rpc {
namespace {

// Requests kept posted per method for the serving infrastructure (health, reflection): their
// calls are rare, and every posted request costs every call: Debian's libgrpc checks each
// completion's tag against the queue's outstanding tags one by one (cq_check_tag), so reflection's
// two methods at 32 each cost GetUser 3.4% more instructions (bench/callgrind_getuser.py). A
// burst beyond these waits in libgrpc only until a matched call posts the next (call_base.cc).
constexpr int kInfrastructureRequestsPosted = 4;

bool IsInfrastructure(const RawService& service) {
  return service.full_name() == "grpc.health.v1.Health" ||
         service.full_name().starts_with("grpc.reflection.");
}

}  // namespace

ServerHost::ServerHost(runtime::Runtime& runtime, ServerOptions options)
    : runtime_(runtime), options_(std::move(options)) {
  options_.limits.max_message_bytes = options_.max_message_bytes;
}

ServerHost::~ServerHost() {
  if (started_ && !stopped_) Shutdown(std::chrono::milliseconds(0));
  // Handlers first (they may hold calls), then the slots those calls point to; the native
  // server (members) after both.
  instances_.clear();
}

void ServerHost::AddService(std::shared_ptr<ServiceRegistration> service) {
  services_.push_back(std::move(service));
}

std::vector<std::string> ServerHost::service_names() const {
  std::vector<std::string> names;
  for (const auto& s : services_) names.push_back(s->name());
  return names;
}

grpc::Status ServerHost::Start() {
  if (!options_.reflection) {
    // Reflection is a registration like any other (services/reflection, which services/server
    // adds); off, it is not served. libgrpc's reflection plugin is not used: it serves over
    // libgrpc only, and a second service of the same name would stop the server.
    std::erase_if(services_, [](const std::shared_ptr<ServiceRegistration>& s) {
      return s->name().starts_with("grpc.reflection.");
    });
  }
  if (!options_.mutex_deadlock_detection) {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  }
  if (options_.transport == Transport::kNative) return StartNative();
  // Bound before gRPC is built, so a bad address fails without a server to tear down. With
  // TLS, gRPC's own listener takes the main port (ServerOptions::tls) and an acceptor, if any,
  // serves the health port; without, the acceptor serves the main port and gRPC's listener the
  // health port. Either way the two ports' connections are told apart by gRPC's peer names
  // (CallLimits::HealthPeers).
  const bool tls = options_.tls.has_value();
  if (!options_.health_listen.empty()) {
    options_.limits.health_peers =
        tls ? CallLimits::HealthPeers::kFdNamed : CallLimits::HealthPeers::kAddressNamed;
  }
  auto make_acceptor = [this](const std::string& listen) {
    return std::make_unique<ConnectionAcceptor>(AcceptorOptions{
        .listen = listen,
        .reuse_port = options_.reuse_port,
        .max_connections = options_.max_connections,
    });
  };
  if (!tls) {
    acceptor_ = make_acceptor(options_.listen);
    if (grpc::Status listening = acceptor_->Listen(); !listening.ok()) {
      acceptor_.reset();
      return listening;
    }
    port_ = acceptor_->port();
  } else if (!options_.health_listen.empty()) {
    health_acceptor_ = make_acceptor(options_.health_listen);
    if (grpc::Status listening = health_acceptor_->Listen(); !listening.ok()) {
      health_acceptor_.reset();
      return grpc::Status(listening.error_code(), "--health-listen: " + listening.error_message());
    }
    health_port_ = health_acceptor_->port();
  }

  grpc::ServerBuilder builder;
  grpc_memory_limit_bytes_ =
      options_.grpc_memory_limit_bytes > 0
          ? options_.grpc_memory_limit_bytes
          : std::max<int64_t>(int64_t{256} << 20, int64_t{4} * options_.max_message_bytes);
  grpc::ResourceQuota quota("percore");
  quota.Resize(static_cast<size_t>(grpc_memory_limit_bytes_));
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, options_.max_metadata_bytes);
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  builder.SetMaxSendMessageSize(options_.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options_.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, options_.max_connection_age_ms);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             options_.max_connection_age_grace_ms);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             options_.keepalive_min_ping_interval_ms);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, options_.keepalive_max_ping_strikes);
  if (options_.minimal_stack) builder.AddChannelArgument(GRPC_ARG_MINIMAL_STACK, 1);
  // gRPC's listener (TLS, or the plaintext health port) would otherwise share its port
  // silently with a second server (SO_REUSEPORT is its default).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, options_.reuse_port ? 1 : 0);
  if (tls) {
    tls_ = std::make_shared<tls::ReloadableServerCredentials>(*options_.tls);
    builder.AddListeningPort(options_.listen, tls_, &port_);
  } else if (!options_.health_listen.empty()) {
    builder.AddListeningPort(options_.health_listen, grpc::InsecureServerCredentials(),
                             &health_port_);
  }
  for (auto& s : services_) builder.RegisterService(&s->raw());

  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues;
  for (size_t i = 0; i < runtime_.size(); ++i) queues.push_back(builder.AddCompletionQueue());
  server_ = builder.BuildAndStart();
  // gRPC's listener, when it has one here, could not bind.
  const bool grpc_listens = tls || !options_.health_listen.empty();
  if (server_ && grpc_listens && (tls ? port_ : health_port_) == 0) server_.reset();
  if (!server_) {
    acceptor_.reset();
    health_acceptor_.reset();
    for (auto& q : queues) {  // never polled: shut down and drain before they are destroyed
      q->Shutdown();
      void* tag;
      bool ok;
      while (q->Next(&tag, &ok)) {
      }
    }
    if (grpc_listens) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "cannot listen on " + (tls ? options_.listen : options_.health_listen) +
                              (tls ? " (TLS)" : " (--health-listen)"));
    }
    return grpc::Status(grpc::StatusCode::INTERNAL, "gRPC server did not start");
  }

  runtime_.Start(std::move(queues));
  started_ = true;
  InstantiateServices(/*post_requests=*/true);
  // Last: a connection handed over now finds every shard's requests posted.
  // gRPC 1.51 binds a connection added by fd to the first queue whose pollset is null (it gets
  // no accepting pollset): one shard for all. SteerToQueue deals them out over the shards in
  // turn instead, as gRPC's own listener does.
  for (ConnectionAcceptor* acceptor : {acceptor_.get(), health_acceptor_.get()}) {
    if (acceptor == nullptr) continue;
    acceptor->Start([this, server = server_.get(), next = size_t{0}](int fd) mutable {
      SteerToQueue steer(runtime_.shard(next++ % runtime_.size()).server_cq()->cq());
      grpc::AddInsecureChannelFromFd(server, fd);
    });
  }
  return grpc::Status::OK;
}

Status ServerHost::ReloadTls(const tls::TlsMaterial& material) {
  if (tls_) {
    tls_->Reload(material);
    return Status();
  }
  if (net_server_ && options_.tls) {
    auto context = tls::MakeServerTlsContext(material);
    if (!context.ok()) return context.status();
    net_server_->SetTls(context->get());  // the server takes its own reference
    return Status();
  }
  return Status(StatusCode::kFailedPrecondition, "the server does not serve TLS");
}

void ServerHost::InstantiateServices(bool post_requests) {
  for (auto& s : services_) {
    s->SetShardCount(runtime_.size());
    s->SetInterceptors(options_.interceptors.get());
  }
  instances_.resize(runtime_.size());
  tables_.resize(runtime_.size());
  live_objects_.assign(runtime_.size(), nullptr);
  grpc_metrics_.assign(runtime_.size(), nullptr);
  runtime_.RunOnAllAndWait([this, post_requests](runtime::Shard& shard) {
    live_objects_[shard.id()] = &shard.Local<LiveCallObjects>();
    grpc_metrics_[shard.id()] = &shard.Local<observe::GrpcServerShardMetrics>();
    auto& mine = instances_[shard.id()];
    for (auto& s : services_) mine.push_back(s->Instantiate(shard, options_.limits));
    for (auto& instance : mine) {
      for (const MethodEntry& entry : instance->methods) tables_[shard.id()].Add(&entry);
    }
    if (!post_requests) return;
    for (auto& instance : mine) {
      for (auto& slot : instance->slots) {
        if (!IsInfrastructure(slot->service())) {
          slot->PostInitial();
          continue;
        }
        for (int i = 0; i < kInfrastructureRequestsPosted; ++i) slot->PostOne();
      }
    }
  });
}

void ServerHost::BeginDrain() {
  if (!started_ || stopped_) return;
  runtime_.RunOnAllAndWait([this](runtime::Shard& shard) {
    shard.set_draining(true);
    for (auto& instance : instances_[shard.id()]) instance->OnDrain();
  });
}

int64_t ServerHost::live_calls() const {
  int64_t total = 0;
  for (size_t i = 0; i < runtime_.size(); ++i) total += runtime_.shard(i).live_calls();
  return total;
}

int64_t ServerHost::live_call_objects() const {
  int64_t total = 0;
  for (const LiveCallObjects* shard : live_objects_) {
    if (shard) total += shard->count.load(std::memory_order_relaxed);
  }
  return total;
}

bool ServerHost::WaitForIdle(std::chrono::steady_clock::time_point deadline) const {
  while (live_calls() > 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

void ServerHost::Shutdown(std::chrono::milliseconds grace) {
  if (!started_ || stopped_) return;
  if (options_.transport == Transport::kNative) return ShutdownNative(grace);
  auto deadline = std::chrono::steady_clock::now() + grace;
  BeginDrain();
  WaitForIdle(deadline);
  // No connection may reach gRPC once it shuts down: join the accept thread and close the
  // listeners first. Connections already handed over are gRPC's; Shutdown closes them.
  if (acceptor_) acceptor_->Stop();
  if (health_acceptor_) health_acceptor_->Stop();
  // Cancels whatever is still running; needs the shards polling (the GOAWAY completes on the
  // queues), so it runs here, not on a shard.
  server_->Shutdown(std::chrono::system_clock::now());
  // Cancelled calls end quickly once their handlers let go; do not wait forever on one that
  // does not.
  WaitForIdle(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  runtime_.Stop();
  server_.reset();
  stopped_ = true;
}

}  // namespace percore::rpc
