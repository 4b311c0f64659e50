#include "bench/baseline/baseline_flags.h"

#include <thread>

#include "tools/flags/flag_reader.h"

namespace percore::baseline {
namespace {

using flags::FlagReader;
using flags::ParseInRange;

std::optional<Mode> ParseMode(const std::string& text) {
  if (text == "sync") return Mode::kSync;
  if (text == "callback") return Mode::kCallback;
  if (text == "async") return Mode::kAsync;
  if (text == "ceiling") return Mode::kCeiling;
  if (text == "stream-ceiling") return Mode::kStreamCeiling;
  return std::nullopt;
}

}  // namespace

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kSync:
      return "sync";
    case Mode::kCallback:
      return "callback";
    case Mode::kAsync:
      return "async";
    case Mode::kCeiling:
      return "ceiling";
    case Mode::kStreamCeiling:
      return "stream-ceiling";
  }
  return "?";
}

std::string BaselineUsage() {
  return R"(usage: percore-baseline --mode MODE [flags]

  --mode sync|callback|async|ceiling|stream-ceiling
        sync      UserService::Service overrides on gRPC's synchronous thread pool
        callback  UserService::CallbackService with unary and write reactors
        async     N completion queues, one thread each, a CallData state machine per method
        ceiling   async, but GetUser answers one prebuilt serialized User (no lookup, no copy):
                  what the gRPC library itself costs per call
        stream-ceiling
                  ceiling, and ListUsers writes that one prebuilt User page_size times
                  (0: 100, at most 1000) back to back, buffer hint on all but the first and
                  the last, which goes with the status: what a streamed message costs in the
                  gRPC library itself
  --listen HOST:PORT  address to serve on (default 127.0.0.1:50052; port 0 picks one)
  --threads N         sync: N threads kept for handlers plus one polling (gRPC's sync
                            server options MIN_POLLERS 1, MAX_POLLERS N+1; N=1 is gRPC's
                            default). While all are busy gRPC starts more, and ends them after.
                      async/ceiling/stream-ceiling: completion queues, one thread each
                      callback: ignored (gRPC picks the threads)
                      (default: hardware concurrency)
  --sync-max-threads M
                      sync only: at most M threads in all, pollers included
                      (grpc::ResourceQuota::SetMaxThreads; default 0: no cap; else at least 2).
                      gRPC does not queue at the cap: a call that finds M-1 calls being handled
                      is answered RESOURCE_EXHAUSTED ("Server Threadpool Exhausted").
  --shutdown-grace SECONDS
                      on SIGTERM/SIGINT, how long calls get before they are cancelled; gRPC's
                      Shutdown also waits this long for clients that keep a used connection
                      open (default 5)
  --help              this text

Prints "percore-baseline (MODE) listening on HOST:PORT" once serving; SIGTERM or SIGINT shuts
down and exits 0.
)";
}

std::optional<BaselineFlags> ParseBaselineFlags(int argc, char** argv, std::string* error) {
  BaselineFlags flags;
  flags.threads = static_cast<int>(std::thread::hardware_concurrency());
  if (flags.threads < 1) flags.threads = 1;
  bool mode_given = false;
  FlagReader args(argc, argv);
  while (args.Next()) {
    const std::string& arg = args.name();
    std::string value;
    if (arg == "--help" || arg == "-h") {
      flags.help = true;
    } else if (arg == "--mode") {
      if (!args.TakeValue(&value, error)) return std::nullopt;
      std::optional<Mode> mode = ParseMode(value);
      if (!mode) {
        *error =
            "--mode wants sync, callback, async, ceiling or stream-ceiling, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.mode = *mode;
      mode_given = true;
    } else if (arg == "--listen") {
      if (!args.TakeValue(&value, error)) return std::nullopt;
      if (value.empty() || value.find(':') == std::string::npos) {
        *error = "--listen wants HOST:PORT, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.listen = value;
    } else if (arg == "--threads") {
      if (!args.TakeValue(&value, error)) return std::nullopt;
      if (!ParseInRange(value, 1, 1024, &flags.threads)) {
        *error = "--threads wants a number from 1 to 1024, got \"" + value + "\"";
        return std::nullopt;
      }
    } else if (arg == "--sync-max-threads") {
      if (!args.TakeValue(&value, error)) return std::nullopt;
      if (!ParseInRange(value, 0, 4096, &flags.sync_max_threads) || flags.sync_max_threads == 1) {
        // One thread would be the poller itself, with none to spare: every call refused.
        *error = "--sync-max-threads wants 0 (no cap) or 2 to 4096, got \"" + value + "\"";
        return std::nullopt;
      }
    } else if (arg == "--shutdown-grace") {
      if (!args.TakeValue(&value, error)) return std::nullopt;
      if (!ParseInRange(value, 0.0, 3600.0, &flags.shutdown_grace_seconds)) {
        *error = "--shutdown-grace wants seconds from 0 to 3600, got \"" + value + "\"";
        return std::nullopt;
      }
    } else {
      *error = "unknown flag " + arg + " (try --help)";
      return std::nullopt;
    }
  }
  if (flags.help) return flags;
  if (!mode_given) {
    *error = "--mode is required: sync, callback, async, ceiling or stream-ceiling (try --help)";
    return std::nullopt;
  }
  if (flags.sync_max_threads > 0 && flags.mode != Mode::kSync) {
    *error = "--sync-max-threads is for --mode sync only";
    return std::nullopt;
  }
  return flags;
}

}  // namespace percore::baseline
