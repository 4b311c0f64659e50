#pragma once
// Threading contract: values; parsed once on the main thread before any server starts.
//
// percore-baseline's command line: which of the usual gRPC C++ server styles to run, where to
// listen, and how many threads the style gets.

#include <optional>
#include <string>

namespace percore::baseline {

enum class Mode {
  kSync,           // UserService::Service on gRPC's sync thread pool
  kCallback,       // UserService::CallbackService (gRPC picks the threads)
  kAsync,          // completion queues, one thread each, CallData state machines
  kCeiling,        // kAsync, but GetUser answers one prebuilt serialized User
  kStreamCeiling,  // kCeiling, and ListUsers streams that prebuilt User page_size times
};

const char* ModeName(Mode mode);

struct BaselineFlags {
  Mode mode = Mode::kAsync;
  std::string listen = "127.0.0.1:50052";
  // sync: threads kept for handlers, plus one that polls (gRPC adds threads while all are
  // busy and lets them go after); async/ceiling/stream-ceiling: completion queues, one thread each;
  // callback: unused.
  int threads = 1;
  // sync only: a hard cap on the server's threads (grpc::ResourceQuota::SetMaxThreads), pollers
  // included; 0: none. gRPC does not queue at the cap: it answers RESOURCE_EXHAUSTED.
  int sync_max_threads = 0;
  // After SIGTERM/SIGINT: how long calls get before Server::Shutdown cancels them. gRPC's
  // Shutdown also waits this long for clients that keep an idle connection open.
  double shutdown_grace_seconds = 5;
  bool help = false;
};

std::string BaselineUsage();

// nullopt with `*error` set on a bad command line. `--mode` is required (a benchmark that
// silently measured a default style would compare the wrong thing).
std::optional<BaselineFlags> ParseBaselineFlags(int argc, char** argv, std::string* error);

}  // namespace percore::baseline
