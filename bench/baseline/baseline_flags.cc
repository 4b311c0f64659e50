#include "bench/baseline/baseline_flags.h"

#include <charconv>
#include <thread>

namespace percore::baseline {
namespace {

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
  --threads N         sync: the server's thread limit (grpc::ResourceQuota::SetMaxThreads),
                            pollers included; 0: no limit (gRPC's default, a thread per
                            concurrent call); at least 2 otherwise. gRPC's sync server does not
                            queue: a call arriving while N-1 calls are being handled is
                            answered RESOURCE_EXHAUSTED ("Server Threadpool Exhausted").
                      async/ceiling: completion queues, one thread each
                      callback: ignored (gRPC picks the threads)
                      (default: hardware concurrency; sync: at least 2)
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
  bool threads_given = false;
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
      int threads = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), threads);
      if (ec != std::errc() || end != value.data() + value.size() || threads < 0 ||
          threads > 1024) {
        *error = "--threads wants a number from 0 to 1024, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.threads = threads;
      threads_given = true;
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
  if (flags.mode == Mode::kSync && !threads_given && flags.threads < 2) flags.threads = 2;
  if (flags.mode == Mode::kSync && flags.threads == 1) {
    // gRPC counts the sync server's polling thread against the limit: a thread that picks up a
    // call and cannot start a replacement poller answers RESOURCE_EXHAUSTED, so with one thread
    // every call is refused.
    *error = "--mode sync needs --threads 0 (no limit) or at least 2";
    return std::nullopt;
  }
  if ((flags.mode == Mode::kAsync || flags.mode == Mode::kCeiling) && flags.threads == 0) {
    *error = "--mode " + std::string(ModeName(flags.mode)) + " needs --threads of at least 1";
    return std::nullopt;
  }
  return flags;
}

}  // namespace percore::baseline
