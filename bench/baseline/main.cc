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
#include <optional>
#include <string>

#include "bench/baseline/async_server.h"
#include "bench/baseline/baseline_flags.h"
#include "bench/baseline/callback_user_service.h"
#include "bench/baseline/server_settings.h"
#include "bench/baseline/sync_user_service.h"
#include "bench/baseline/user_store.h"

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
      // gRPC's sync server: a thread that picks up a call runs it; when it was the last one
      // polling, gRPC starts another to poll. Up to threads + 1 stay afterwards, the rest end.
      builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 1);
      builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                                  flags->threads + 1);
      if (flags->sync_max_threads > 0) {
        // A hard cap, pollers included; a call that finds no thread to spare is answered
        // RESOURCE_EXHAUSTED, not queued.
        grpc::ResourceQuota quota("percore-baseline");
        quota.SetMaxThreads(flags->sync_max_threads);
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
    case Mode::kStreamCeiling:
      async_server =
          std::make_unique<AsyncServer>(&store, flags->threads, flags->mode == Mode::kCeiling,
                                        flags->mode == Mode::kStreamCeiling);
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
    case Mode::kSync: {
      std::string cap = flags->sync_max_threads > 0
                            ? "at most " + std::to_string(flags->sync_max_threads) +
                                  " threads in all (RESOURCE_EXHAUSTED beyond)"
                            : "no thread cap";
      std::fprintf(stderr, "percore-baseline: sync, %d handler threads kept plus one polling; %s\n",
                   flags->threads, cap.c_str());
      break;
    }
    case Mode::kCallback:
      std::fprintf(stderr, "percore-baseline: callback, gRPC's own threads\n");
      break;
    case Mode::kAsync:
    case Mode::kCeiling:
    case Mode::kStreamCeiling:
      std::fprintf(stderr, "percore-baseline: %s, %d completion queues, one thread each\n",
                   ModeName(flags->mode), flags->threads);
      break;
  }

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::fprintf(stderr, "percore-baseline: %s, shutting down\n",
               signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  // From this thread, which polls no queue, while the async queue threads keep polling.
  auto grace = std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::duration<double>(flags->shutdown_grace_seconds));
  server->Shutdown(std::chrono::system_clock::now() + grace);
  if (async_server) async_server->Stop();
  server.reset();  // servers go before their queues
  std::fprintf(stderr, "percore-baseline: stopped\n");
  return 0;
}
