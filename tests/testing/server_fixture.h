#pragma once
// Threading contract: a ServerFixture is driven from the test's main thread (never a shard).
// The fixture owns the Runtime and the ServerHost; the host is destroyed before the runtime
// (it holds a reference to it). Channels and stubs it hands out may outlive Shutdown(): calls
// on them then fail with UNAVAILABLE.
//
// A real percore server on 127.0.0.1, port 0 (the kernel picks a free port), hosting the given
// registrations, for tests that cross the wire with the real gRPC client (like gRPC's own
// end2end tests: start in SetUp, shut down in TearDown):
//
//   ServerFixture server(ServerFixture::CatalogServices({"interop"}));
//   ASSERT_TRUE(server.Start().ok());
//   auto stub = server.MakeStub<grpc::testing::TestService>();

#include <grpcpp/channel.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/status.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/rpc/call_base.h"
#include "core/rpc/server_host.h"
#include "core/rpc/service_def.h"
#include "core/runtime/runtime.h"
#include "services/server/service_catalog.h"

namespace percore::testing {

// Polls `condition` every few milliseconds until it holds or `timeout` passes; returns whether it
// held. For state that settles asynchronously on the shards (freed calls, drained streams).
template <class Condition>
bool WaitFor(Condition condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

struct ServerFixtureOptions {
  int shards = 2;
  // Tests share a small machine with other work: shards float instead of pinning.
  bool pin = false;
  rpc::ServerOptions server = DefaultServerOptions();

  static rpc::ServerOptions DefaultServerOptions() {
    rpc::ServerOptions options;
    options.listen = "127.0.0.1:0";
    return options;
  }
};

class ServerFixture {
 public:
  using Services = std::vector<std::shared_ptr<rpc::ServiceRegistration>>;

  explicit ServerFixture(Services services, ServerFixtureOptions options = {})
      : services_(std::move(services)), options_(std::move(options)) {
    options_.server.listen = "127.0.0.1:0";
    runtime_ = std::make_unique<runtime::Runtime>(
        runtime::RuntimeOptions{.shards = options_.shards, .pin = options_.pin});
    host_ = std::make_unique<rpc::ServerHost>(*runtime_, options_.server);
    for (auto& s : services_) host_->AddService(s);
  }

  ~ServerFixture() {
    Shutdown(std::chrono::milliseconds(0));
    host_.reset();  // before the runtime it refers to
    runtime_.reset();
  }

  ServerFixture(const ServerFixture&) = delete;
  ServerFixture& operator=(const ServerFixture&) = delete;

  // The catalog's registrations for `names` (health is always added); throws on an unknown name
  // so a typo fails the test loudly.
  static Services CatalogServices(const std::vector<std::string>& names) {
    std::string error;
    Services services = server::MakeServices(names, &error);
    if (services.empty()) throw std::invalid_argument("MakeServices: " + error);
    return services;
  }

  grpc::Status Start() {
    grpc::Status status = host_->Start();
    started_ = status.ok();
    idle_call_objects_ = live_call_objects();
    return status;
  }

  // This server's call objects alive now, posted requests included (still readable after
  // Shutdown(): zero then, if no path leaked one).
  int64_t live_call_objects() const { return host_->live_call_objects(); }
  // live_call_objects() right after Start(): the posted requests alone.
  int64_t idle_call_objects() const { return idle_call_objects_; }

  // Waits up to `timeout` until every call has been freed: only the posted requests remain and
  // no shard counts a live call. For tests that prove no path leaks a call.
  ::testing::AssertionResult WaitUntilNoCalls(std::chrono::milliseconds timeout) {
    bool settled = WaitFor(
        [&] { return live_call_objects() == idle_call_objects_ && live_calls() == 0; }, timeout);
    if (settled) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "calls still alive after " << timeout.count() << " ms: call objects "
           << live_call_objects() << " (posted requests " << idle_call_objects_ << "), live calls "
           << live_calls();
  }

  int port() const { return host_->port(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }

  // One channel shared by every stub from MakeStub(), created on first use.
  std::shared_ptr<grpc::Channel> channel() {
    if (!channel_) channel_ = NewChannel();
    return channel_;
  }

  // A channel with its own TCP connection (distinct channel arguments keep gRPC from sharing a
  // subchannel), to spread calls over connections and so over shards.
  std::shared_ptr<grpc::Channel> NewChannel() {
    static std::atomic<int> next_id{0};
    grpc::ChannelArguments args;
    args.SetInt("percore.test.channel_id", next_id.fetch_add(1));
    args.SetMaxReceiveMessageSize(-1);
    return grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args);
  }

  // A channel (its own connection, named `label`) whose client does not grow its HTTP/2 receive
  // window (no BDP probing): a reader that stops reading soon stops the server's writes, so
  // tests can make a slow consumer whose messages pile up on the server.
  std::shared_ptr<grpc::Channel> NewSmallWindowChannel(const std::string& label) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.http2.bdp_probe", 0);
    args.SetString("percore.test.channel", label);
    args.SetMaxReceiveMessageSize(-1);
    return grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args);
  }

  // MakeStub<grpc::testing::TestService>() on the shared channel.
  template <class Service>
  std::unique_ptr<typename Service::Stub> MakeStub() {
    return Service::NewStub(channel());
  }
  template <class Service>
  std::unique_ptr<typename Service::Stub> MakeStub(std::shared_ptr<grpc::Channel> channel) {
    return Service::NewStub(std::move(channel));
  }

  // The host's whole shutdown sequence (drain, grace, cancel, stop the shards). Idempotent.
  void Shutdown(std::chrono::milliseconds grace) {
    if (!started_ || shut_down_) return;
    shut_down_ = true;
    host_->Shutdown(grace);
  }
  bool shut_down() const { return shut_down_; }

  // Shutdown(grace), and how long it took: for tests that bound it functionally (open streams
  // must not make the server wait out its grace), never as a performance target.
  std::chrono::milliseconds TimedShutdown(std::chrono::milliseconds grace) {
    auto begin = std::chrono::steady_clock::now();
    Shutdown(grace);
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 begin);
  }

  rpc::ServerHost& host() { return *host_; }
  runtime::Runtime& runtime() { return *runtime_; }
  const ServerFixtureOptions& options() const { return options_; }

  // Calls started and not yet freed, summed over the shards.
  int64_t live_calls() const {
    int64_t total = 0;
    for (size_t i = 0; i < runtime_->size(); ++i) {
      total += runtime_->shard(static_cast<runtime::ShardId>(i)).live_calls();
    }
    return total;
  }

 private:
  Services services_;
  ServerFixtureOptions options_;
  std::unique_ptr<runtime::Runtime> runtime_;
  std::unique_ptr<rpc::ServerHost> host_;
  std::shared_ptr<grpc::Channel> channel_;
  int64_t idle_call_objects_ = 0;
  bool started_ = false;
  bool shut_down_ = false;
};

}  // namespace percore::testing
