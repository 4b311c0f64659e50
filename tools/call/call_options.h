#pragma once
// Threading contract: parsed once on the main thread, then read-only.
//
// percore-call's command line, in grpcurl's shape: flags, then ADDRESS (optional, default
// 127.0.0.1:50051), a verb and its arguments:
//   list [SERVICE] | describe [SYMBOL] | call METHOD (or just METHOD, as grpcurl takes it).

#include <chrono>
#include <string>
#include <vector>

#include "tools/grpcdyn/channel.h"
#include "tools/grpcdyn/result.h"

namespace percore::call {

struct CallOptions {
  std::string address = "127.0.0.1:50051";
  std::string verb;               // list | describe | call
  std::vector<std::string> args;  // the verb's arguments
  std::string proto;
  std::vector<std::string> import_paths;
  bool plaintext = false;
  grpcdyn::TlsFlags tls;  // --cacert, --cert, --key
  std::string data;       // JSON text, already read from @file or stdin
  std::string metadata;
  std::chrono::nanoseconds timeout{0};  // 0: no deadline
  std::chrono::nanoseconds connect_timeout = std::chrono::seconds(10);
  bool verbose = false;
  bool compact = false;
  bool emit_defaults = false;
  bool help = false;
};

// Errors are usage errors (exit 2).
grpcdyn::Result<CallOptions> ParseCallOptions(int argc, char** argv);
std::string CallUsage();

}  // namespace percore::call
