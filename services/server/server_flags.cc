#include "services/server/server_flags.h"

#include <charconv>
#include <chrono>
#include <optional>
#include <sstream>
#include <string>

#include "services/remote/peer_target.h"
#include "services/server/service_catalog.h"

namespace percore::server {
namespace {

bool ParseInt(const std::string& text, long long min, long long max, long long* out) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return false;
  }
  *out = value;
  return true;
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

// "--peer SERVICE=HOST:PORT[,HOST:PORT...]" into `flags`; false with `error` naming the bad part.
bool ParsePeer(const std::string& value, ServerFlags* flags, std::string* error) {
  size_t eq = value.find('=');
  std::vector<std::string> addresses =
      eq == std::string::npos ? std::vector<std::string>() : SplitList(value.substr(eq + 1));
  if (eq == std::string::npos || eq == 0 || addresses.empty()) {
    *error = "--peer wants SERVICE=HOST:PORT[,HOST:PORT...], got \"" + value + "\"";
    return false;
  }
  std::string service = value.substr(0, eq);
  const CatalogEntry* entry = FindPeerService(service);
  if (entry == nullptr) {
    std::string known;
    for (const CatalogEntry& e : PeerServiceCatalog())
      known += (known.empty() ? "" : ", ") + e.short_name;
    *error = "--peer: unknown service \"" + service + "\" in \"" + value + "\" (peers can be " +
             known + ")";
    return false;
  }
  for (const std::string& address : addresses) {
    std::string host;
    int port = 0;
    if (!remote::SplitHostPort(address, &host, &port)) {
      *error = "--peer: \"" + address + "\" in \"" + value +
               "\" is not HOST:PORT (port 1-65535; IPv6 as [ADDRESS]:PORT)";
      return false;
    }
  }
  // Repeating --peer for one service adds replicas.
  auto& known = flags->peers[entry->short_name];
  known.insert(known.end(), addresses.begin(), addresses.end());
  return true;
}

// "90s", "30m", "24h", "7d", "0".
std::optional<std::chrono::seconds> ParseRetention(const std::string& text) {
  if (text == "0") return std::chrono::seconds(0);
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9 || digits + 1 != text.size()) return std::nullopt;
  const int64_t value = std::stoll(text.substr(0, digits));
  switch (text.back()) {
    case 's':
      return std::chrono::seconds(value);
    case 'm':
      return std::chrono::minutes(value);
    case 'h':
      return std::chrono::hours(value);
    case 'd':
      return std::chrono::hours(24 * value);
    default:
      return std::nullopt;
  }
}

}  // namespace

std::optional<ServerFlags> ParseServerFlags(int argc, char** argv, std::string* error) {
  ServerFlags flags;
  // The binary serves on percore's own transport unless told otherwise: it is 5× libgrpc's
  // calls per CPU-second with a lower p99 at half load (README "Latest figures"). ServerOptions
  // itself keeps libgrpc, the reference, for code that builds a server in process.
  flags.server.transport = rpc::Transport::kNative;
  bool fsync_given = false;
  bool snapshot_given = false;
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
    long long number = 0;
    if (arg == "--help" || arg == "-h") {
      flags.help = true;
    } else if (arg == "--reuse-port") {
      flags.server.reuse_port = true;
    } else if (arg == "--minimal-stack") {
      flags.server.minimal_stack = true;
    } else if (arg == "--listen") {
      if (!need_value()) return std::nullopt;
      size_t colon = value.rfind(':');
      bool bracketed = !value.empty() && value[0] == '[';
      if (colon == std::string::npos || (bracketed && value.find("]:") != colon - 1) ||
          !ParseInt(value.substr(colon + 1), 0, 65535, &number)) {
        *error =
            "--listen wants HOST:PORT with a port from 0 to 65535 (IPv6 as [ADDRESS]:PORT), "
            "got \"" +
            value + "\"";
        return std::nullopt;
      }
      flags.server.listen = value;
    } else if (arg == "--admin") {
      if (!need_value()) return std::nullopt;
      size_t colon = value.rfind(':');
      if (colon == std::string::npos || !ParseInt(value.substr(colon + 1), 0, 65535, &number)) {
        *error = "--admin wants HOST:PORT with a port from 0 to 65535, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.admin = value;
    } else if (arg == "--http") {
      if (!need_value()) return std::nullopt;
      size_t colon = value.rfind(':');
      if (colon == std::string::npos || !ParseInt(value.substr(colon + 1), 0, 65535, &number)) {
        *error = "--http wants HOST:PORT with a port from 0 to 65535, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.http = value;
    } else if (arg == "--http-max-body-bytes") {
      if (!need_value()) return std::nullopt;
      if (!ParseInt(value, 1, 1LL << 30, &number)) {
        *error = "--http-max-body-bytes wants a whole number from 1 to 1073741824, got \"" + value +
                 "\"";
        return std::nullopt;
      }
      flags.http_max_body_bytes = number;
    } else if (arg == "--trace-log") {
      if (!need_value()) return std::nullopt;
      if (value.empty()) {
        *error = "--trace-log wants a file path (or - for stderr)";
        return std::nullopt;
      }
      flags.trace_log = value;
    } else if (arg == "--trace-sample-ratio") {
      if (!need_value()) return std::nullopt;
      char* end = nullptr;
      double ratio = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !(ratio >= 0 && ratio <= 1)) {
        *error = "--trace-sample-ratio wants a number from 0 to 1, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.trace_sample_ratio = ratio;
    } else if (arg == "--log-format") {
      if (!need_value()) return std::nullopt;
      std::optional<observe::LogFormat> format = observe::ParseLogFormat(value);
      if (!format) {
        *error = "--log-format wants text or json, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.log_format = *format;
    } else if (arg == "--log-level") {
      if (!need_value()) return std::nullopt;
      std::optional<observe::LogLevel> level = observe::ParseLogLevel(value);
      if (!level) {
        *error = "--log-level wants debug, info, warn or error, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.log_level = *level;
    } else if (arg == "--shards") {
      if (!need_value()) return std::nullopt;
      if (!ParseInt(value, 1, 1024, &number)) {
        *error = "--shards wants a whole number from 1 to 1024, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.shards = static_cast<int>(number);
    } else if (arg == "--idle-poll-us") {
      if (!need_value()) return std::nullopt;
      if (!ParseInt(value, 0, 10000, &number)) {
        *error = "--idle-poll-us wants microseconds from 0 to 10000, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.idle_poll_us = static_cast<int>(number);
    } else if (arg == "--transport") {
      if (!need_value()) return std::nullopt;
      if (value == "grpc") {
        flags.server.transport = rpc::Transport::kGrpc;
      } else if (value == "native") {
        flags.server.transport = rpc::Transport::kNative;
      } else {
        *error = "--transport wants grpc or native, got \"" + value + "\"";
        return std::nullopt;
      }
    } else if (arg == "--services") {
      if (!need_value()) return std::nullopt;
      flags.services = SplitList(value);
      if (flags.services.empty()) {
        *error = "--services wants a comma-separated list of services";
        return std::nullopt;
      }
    } else if (arg == "--peer") {
      if (!need_value()) return std::nullopt;
      if (!ParsePeer(value, &flags, error)) return std::nullopt;
    } else if (arg == "--max-message-bytes") {
      if (!need_value()) return std::nullopt;
      if (!ParseInt(value, 1024, 1LL << 30, &number)) {
        *error = "--max-message-bytes wants a number of bytes from 1024 to 1073741824, got \"" +
                 value + "\"";
        return std::nullopt;
      }
      flags.server.max_message_bytes = static_cast<int>(number);
    } else if (arg == "--max-concurrent-streams") {
      if (!need_value()) return std::nullopt;
      if (!ParseInt(value, 1, 1 << 20, &number)) {
        *error = "--max-concurrent-streams wants a number from 1 to 1048576, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.server.max_concurrent_streams = static_cast<int>(number);
    } else if (arg == "--max-connection-age-seconds") {
      if (!need_value()) return std::nullopt;
      if (!ParseInt(value, 1, 1 << 20, &number)) {
        *error =
            "--max-connection-age-seconds wants a number from 1 to 1048576, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.server.max_connection_age_ms = static_cast<int>(number * 1000);
    } else if (arg == "--max-connection-age-grace-seconds") {
      if (!need_value()) return std::nullopt;
      if (!ParseInt(value, 0, 1 << 20, &number)) {
        *error = "--max-connection-age-grace-seconds wants a number from 0 to 1048576, got \"" +
                 value + "\"";
        return std::nullopt;
      }
      flags.server.max_connection_age_grace_ms = static_cast<int>(number * 1000);
    } else if (arg == "--max-connections") {
      if (!need_value()) return std::nullopt;
      if (!ParseInt(value, 1, 1 << 24, &number)) {
        *error = "--max-connections wants a number from 1 to 16777216, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.server.max_connections = static_cast<int>(number);
    } else if (arg == "--grpc-memory-limit-bytes") {
      if (!need_value()) return std::nullopt;
      if (!ParseInt(value, 16LL << 20, 1LL << 40, &number)) {
        *error =
            "--grpc-memory-limit-bytes wants a number of bytes from 16777216 to "
            "1099511627776, got \"" +
            value + "\"";
        return std::nullopt;
      }
      flags.server.grpc_memory_limit_bytes = number;
    } else if (arg == "--shutdown-grace") {
      if (!need_value()) return std::nullopt;
      char* end = nullptr;
      double seconds = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !(seconds >= 0 && seconds <= 3600)) {
        *error = "--shutdown-grace wants seconds from 0 to 3600, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.shutdown_grace_seconds = seconds;
    } else if (arg == "--max-calls-per-shard") {
      if (!need_value()) return std::nullopt;
      if (!ParseInt(value, 1, 100000000, &number)) {
        *error = "--max-calls-per-shard wants a number from 1 to 100000000, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.server.limits.max_calls_per_shard = number;
    } else if (arg == "--stream-idle-timeout") {
      if (!need_value()) return std::nullopt;
      char* end = nullptr;
      double seconds = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !(seconds >= 0 && seconds <= 86400)) {
        *error = "--stream-idle-timeout wants seconds from 0 to 86400, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.server.limits.stream_idle_timeout =
          std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
    } else if (arg == "--shed-queue-delay-ms") {
      if (!need_value()) return std::nullopt;
      if (!ParseInt(value, 0, 60000, &number)) {
        *error = "--shed-queue-delay-ms wants milliseconds from 0 to 60000, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.server.limits.shed_queue_delay = std::chrono::milliseconds(number);
    } else if (arg == "--shed-window-ms") {
      if (!need_value()) return std::nullopt;
      if (!ParseInt(value, 1, 600000, &number)) {
        *error = "--shed-window-ms wants milliseconds from 1 to 600000, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.server.limits.shed_window = std::chrono::milliseconds(number);
    } else if (arg == "--data-dir") {
      if (!need_value()) return std::nullopt;
      if (value.empty()) {
        *error = "--data-dir wants a directory";
        return std::nullopt;
      }
      flags.durability.data_dir = value;
    } else if (arg == "--fsync") {
      if (!need_value()) return std::nullopt;
      std::optional<durability::FsyncPolicy> policy = durability::ParseFsyncPolicy(value);
      if (!policy) {
        *error = "--fsync wants always, everysec or no, got \"" + value + "\"";
        return std::nullopt;
      }
      flags.durability.fsync = *policy;
      fsync_given = true;
    } else if (arg == "--recover-skip-corrupt") {
      flags.durability.skip_corrupt = true;
    } else if (arg == "--snapshot-every") {
      if (!need_value()) return std::nullopt;
      Result<durability::SnapshotPolicy> policy = durability::ParseSnapshotEvery(value);
      if (!policy.ok()) {
        *error = policy.message();
        return std::nullopt;
      }
      flags.durability.snapshot = *policy;
      snapshot_given = true;
    } else if (arg == "--idempotency-retention") {
      if (!need_value()) return std::nullopt;
      std::optional<std::chrono::seconds> retention = ParseRetention(value);
      if (!retention) {
        *error = "--idempotency-retention wants a time like 90s, 30m, 24h or 7d, or 0; got \"" +
                 value + "\"";
        return std::nullopt;
      }
      flags.durability.idempotency_retention = *retention;
    } else if (auto parsed = cluster::ParseClusterFlag(
                   arg, [&] { return need_value() ? std::optional(value) : std::nullopt; },
                   &flags.cluster, error)) {
      if (!*parsed) return std::nullopt;
    } else if (auto parsed = ParseAuthFlag(
                   arg, [&] { return need_value() ? std::optional(value) : std::nullopt; },
                   &flags.auth, error)) {
      if (!*parsed) return std::nullopt;
    } else if (auto parsed_tls = ParseTlsFlag(
                   arg, [&] { return need_value() ? std::optional(value) : std::nullopt; },
                   &flags.tls, error)) {
      if (!*parsed_tls) return std::nullopt;
    } else if (arg == "--no-reflection") {  // issue 13
      flags.server.reflection = false;
    } else {
      *error = "unknown flag \"" + std::string(argv[i]) + "\" (see --help)";
      return std::nullopt;
    }
  }
  if (!CheckAuthFlags(flags.auth, error)) return std::nullopt;
  if (auto placement = cluster::PlacementFromFlags(flags.cluster, error)) {
    flags.placement = std::move(*placement);
  } else {
    return std::nullopt;
  }
  if (!CheckTlsFlags(flags.tls, error)) return std::nullopt;
  flags.server.health_listen = flags.tls.health_listen;
  if (!flags.durability.enabled() &&
      (fsync_given || flags.durability.skip_corrupt || snapshot_given)) {
    *error = std::string(fsync_given      ? "--fsync"
                         : snapshot_given ? "--snapshot-every"
                                          : "--recover-skip-corrupt") +
             " needs --data-dir (without it nothing is written to disk)";
    return std::nullopt;
  }
  return flags;
}

}  // namespace percore::server
