#include "bench/baseline/baseline_flags.h"

#include <charconv>
#include <thread>

namespace percore::baseline {
namespace {

bool ParseInt(const std::string& text, int min, int max, int* out) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return false;
  }
  *out = value;
  return true;
}

std::optional<Mode> ParseMode(const std::string& text) {
  if (text == "sync") return Mode::kSync;
  if (text == "callback") return Mode::kCallback;
  if (text == "async") return Mode::kAsync;
  if (text == "ceiling") return Mode::kCeiling;
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
  }
  return "?";
}

std::string BaselineUsage() {
  return R"(usage: percore-baseline --mode MODE [flags]

  --mode sync|callback|async|ceiling
        sync      UserService::Service overrides on gRPC's synchronous thread pool
        callback  UserService::CallbackService with unary and write reactors
        async     N completion queues, one thread each, a CallData state machine per method
        ceiling   async, but GetUser answers one prebuilt serialized User (no lookup, no copy):
                  what the gRPC library itself costs per call
  --listen HOST:PORT  address to serve on (default 127.0.0.1:50052; port 0 picks one)
  --threads N         sync: N threads kept for handlers plus one polling (gRPC's sync
                            server options MIN_POLLERS 1, MAX_POLLERS N+1; N=1 is gRPC's
                            default). While all are busy gRPC starts more, and ends them after.
                      async/ceiling: completion queues, one thread each
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
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto need_value = [&]() -> bool {
      if (has_value) return true;
      if (i + 1 >= argc) {
        *error = arg + " needs a value";
        return false;
      }
      value = argv[++i];
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      flags.help = true;
    } else if (arg == "--mode") {
      if (!need_value()) return std::nullopt;
      std::optional<Mode> mode = ParseMode(value);
      if (!mode) {
        *error = "--mode wants sync, callback, async or ceiling, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.mode = *mode;
      mode_given = true;
    } else if (arg == "--listen") {
      if (!need_value()) return std::nullopt;
      if (value.empty() || value.find(':') == std::string::npos) {
        *error = "--listen wants HOST:PORT, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.listen = value;
    } else if (arg == "--threads") {
      if (!need_value()) return std::nullopt;
      if (!ParseInt(value, 1, 1024, &flags.threads)) {
        *error = "--threads wants a number from 1 to 1024, got \"" + value + "\"";
        return std::nullopt;
      }
    } else if (arg == "--sync-max-threads") {
      if (!need_value()) return std::nullopt;
      if (!ParseInt(value, 0, 4096, &flags.sync_max_threads) || flags.sync_max_threads == 1) {
        // One thread would be the poller itself, with none to spare: every call refused.
        *error = "--sync-max-threads wants 0 (no cap) or 2 to 4096, got \"" + value + "\"";
        return std::nullopt;
      }
    } else if (arg == "--shutdown-grace") {
      if (!need_value()) return std::nullopt;
      double seconds = -1;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (ec != std::errc() || end != value.data() + value.size() || !(seconds >= 0) ||
          seconds > 3600) {
        *error = "--shutdown-grace wants seconds from 0 to 3600, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.shutdown_grace_seconds = seconds;
    } else {
      *error = "unknown flag " + arg + " (try --help)";
      return std::nullopt;
    }
  }
  if (flags.help) return flags;
  if (!mode_given) {
    *error = "--mode is required: sync, callback, async or ceiling (try --help)";
    return std::nullopt;
  }
  if (flags.sync_max_threads > 0 && flags.mode != Mode::kSync) {
    *error = "--sync-max-threads is for --mode sync only";
    return std::nullopt;
  }
  return flags;
}

}  // namespace percore::baseline
