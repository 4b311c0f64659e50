#pragma once
// Threading contract: parsed once in main().
//
// The server's command line (an interface others rely on: tools/run passes its flags here).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/cluster/cluster_placement.h"
#include "core/durability/durability_config.h"
#include "core/observe/log.h"
#include "core/rpc/server_host.h"
#include "services/cluster/cluster_flags.h"
#include "services/server/auth_flags.h"
#include "services/server/tls_flags.h"

namespace percore::server {

struct ServerFlags {
  rpc::ServerOptions server;
  int shards = 0;        // 0: the CPUs this process may use
  int idle_poll_us = 0;  // --idle-poll-us: native shards poll this long before sleeping
  std::vector<std::string> services;  // empty: every service this binary has
  // --peer SERVICE=HOST:PORT[,HOST:PORT...]: short service name ("payment") -> its replicas.
  std::map<std::string, std::vector<std::string>> peers;
  double shutdown_grace_seconds = 10;
  durability::DurabilityConfig durability;  // --data-dir, --fsync, --recover-skip-corrupt
  AuthFlags auth;                           // --jwt-*, --peer-token-file
  TlsFlags tls;                             // --tls-*, --health-listen, --peer-tls-* (tls_flags.h)
  bool help = false;
  // --admin HOST:PORT: the admin HTTP listener (/metrics, /healthz, /readyz); empty: off.
  std::string admin;
  // --partitions, --partition, --members (services/cluster/cluster_flags.h) and the placement
  // they describe (one partition of one: the whole data set, nothing routed).
  cluster::ClusterFlags cluster;
  cluster::ClusterPlacement placement;
  // --- the HTTP gateway (issue 11) ---
  // --http HOST:PORT: REST/JSON + WebSocket gateway and the web page; empty: off.
  std::string http;
  // --http-max-body-bytes N: largest request body (413 past it).
  long long http_max_body_bytes = 1024 * 1024;
  // Observability (issue 12): --trace-log PATH ("-": stderr; empty: tracing off) and
  // --trace-sample-ratio (of new traces; a caller's sampled flag is followed).
  std::string trace_log;
  double trace_sample_ratio = 1.0;
  // --log-format text|json and --log-level debug|info|warn|error (core/observe/log.h).
  observe::LogFormat log_format = observe::LogFormat::kText;
  observe::LogLevel log_level = observe::LogLevel::kInfo;
};

// Parses argv; on a bad flag returns nullopt and sets `error` to a message naming it.
std::optional<ServerFlags> ParseServerFlags(int argc, char** argv, std::string* error);
std::string ServerUsage();

}  // namespace percore::server
