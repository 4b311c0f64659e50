// percore-baseline: user.v1.UserService (CreateUser, GetUser, ListUsers) written the usual
// gRPC C++ ways over one std::shared_mutex-guarded std::map, for the benchmark to compare
// percore-server against. Serves until SIGTERM/SIGINT, then shuts down and exits 0.

#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "bench/baseline/async_server.h"
#include "bench/baseline/baseline_flags.h"
#include "bench/baseline/callback_user_service.h"
#include "bench/baseline/server_settings.h"
#include "bench/baseline/sync_user_service.h"
#include "bench/baseline/user_store.h"

namespace {

// Time in-flight calls get to finish after SIGTERM/SIGINT before Shutdown cancels them.
constexpr std::chrono::seconds kShutdownGrace(5);

}  // namespace

int main(int argc, char** argv) {
  using namespace percore::baseline;
  std::string error;
  std::optional<BaselineFlags> flags = ParseBaselineFlags(argc, argv, &error);
  if (!flags) {
    std::fprintf(stderr, "percore-baseline: %s\n", error.c_str());
    return 2;
  }
  if (flags->help) {
    std::fputs(BaselineUsage().c_str(), stdout);
    return 0;
  }

  // Blocked before gRPC starts any thread, so every thread inherits the mask and only the
  // sigwait() below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Declared before the server so they outlive it.
  UserStore store;
  std::unique_ptr<SyncUserService> sync_service;
  std::unique_ptr<CallbackUserService> callback_service;
  std::unique_ptr<AsyncServer> async_server;

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(flags->listen, grpc::InsecureServerCredentials(), &port);
  ApplyServerSettings(builder);
  switch (flags->mode) {
    case Mode::kSync: {
      sync_service = std::make_unique<SyncUserService>(&store);
      builder.RegisterService(sync_service.get());
      if (flags->threads > 0) {
        // The sync server's pollers and handler threads together stay within this; a call
        // that finds no thread to spare is answered RESOURCE_EXHAUSTED, not queued.
        grpc::ResourceQuota quota("percore-baseline");
        quota.SetMaxThreads(flags->threads);
        builder.SetResourceQuota(quota);
      }
      break;
    }
    case Mode::kCallback:
      callback_service = std::make_unique<CallbackUserService>(&store);
      builder.RegisterService(callback_service.get());
      break;
    case Mode::kAsync:
    case Mode::kCeiling:
      async_server =
          std::make_unique<AsyncServer>(&store, flags->threads, flags->mode == Mode::kCeiling);
      async_server->AddTo(builder);
      break;
  }

  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr,
                 "percore-baseline: cannot listen on %s (address in use or not valid for this "
                 "host?)\n",
                 flags->listen.c_str());
    return 1;  // async_server's destructor drains its never-polled queues
  }
  if (async_server) async_server->Start();

  std::string host = flags->listen.substr(0, flags->listen.rfind(':'));
  std::printf("percore-baseline (%s) listening on %s:%d\n", ModeName(flags->mode), host.c_str(),
              port);
  std::fflush(stdout);
  switch (flags->mode) {
    case Mode::kSync:
      if (flags->threads > 0) {
        std::fprintf(stderr, "percore-baseline: sync, at most %d threads (pollers included)\n",
                     flags->threads);
      } else {
        std::fprintf(stderr, "percore-baseline: sync, no thread limit\n");
      }
      break;
    case Mode::kCallback:
      std::fprintf(stderr, "percore-baseline: callback, gRPC's own threads\n");
      break;
    case Mode::kAsync:
    case Mode::kCeiling:
      std::fprintf(stderr, "percore-baseline: %s, %d completion queues, one thread each\n",
                   ModeName(flags->mode), flags->threads);
      break;
  }

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::fprintf(stderr, "percore-baseline: %s, shutting down\n",
               signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  // From this thread, which polls no queue, while the async queue threads keep polling.
  server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  if (async_server) async_server->Stop();
  server.reset();  // servers go before their queues
  std::fprintf(stderr, "percore-baseline: stopped\n");
  return 0;
}
