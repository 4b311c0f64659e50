#pragma once
// Threading contract: parsed once on the main thread, then read-only for the whole run.
//
// percore-load's command line, in ghz's spelling (--call, -c, -n, -z, --rps, -d, -m, -O, ...),
// so a ghz command line runs unchanged against percore and the two tools' reports compare.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tools/grpcdyn/channel.h"
#include "tools/grpcdyn/result.h"

namespace percore::load {

struct LoadOptions {
  std::string host = "127.0.0.1:50051";
  std::string call;
  std::string proto;
  std::vector<std::string> import_paths;
  bool insecure = false;
  grpcdyn::TlsFlags tls;  // --cacert, --cert, --key
  uint64_t concurrency = 50;
  uint64_t connections = 1;
  uint64_t total = 200;
  std::chrono::nanoseconds duration{0};  // > 0: run for this long; -n is ignored
  std::string duration_stop = "close";   // close | wait | ignore, as ghz
  double rps = 0;                        // 0: closed loop, as fast as -c allows
  uint64_t skip_first = 0;
  uint64_t stream_call_count = 0;
  std::chrono::nanoseconds stream_interval{0};
  std::chrono::nanoseconds timeout = std::chrono::seconds(20);
  std::chrono::nanoseconds connect_timeout = std::chrono::seconds(10);
  std::string data = "{}";  // JSON text, already read from @file / stdin / -D
  std::string metadata;     // JSON object text
  std::string format = "summary";
  std::string output;
  bool details = false;
  uint64_t threads = 0;                   // client threads; 0 picks min(2, CPUs)
  std::string client_transport = "grpc";  // grpc (libgrpc) | native (nghttp2 on epoll)
  bool help = false;
};

// Errors are usage errors (exit 2) and name the flag.
grpcdyn::Result<LoadOptions> ParseLoadOptions(int argc, char** argv);
std::string LoadUsage();

}  // namespace percore::load
