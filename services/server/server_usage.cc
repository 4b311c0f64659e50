// percore-server --help: every flag with its default (the flags are parsed in server_flags.cc).

#include <string>

#include "services/cluster/cluster_flags.h"
#include "services/server/auth_flags.h"
#include "services/server/server_flags.h"
#include "services/server/tls_flags.h"

namespace percore::server {

std::string ServerUsage() {
  return R"(usage: percore-server [flags]

  --listen HOST:PORT          address to serve on (default 127.0.0.1:50051; port 0 picks one)
  --shards N                  event loops, one per core (default: the CPUs this process may use)
  --transport grpc|native     what carries the calls: libgrpc's server (grpc), or percore's
                              own per-shard HTTP/2 transport (native: each shard listens
                              with SO_REUSEPORT and runs an epoll loop; same services,
                              limits and drain; --peer channels stay libgrpc; not applied:
                              --grpc-memory-limit-bytes) (default native)
  --idle-poll-us N            native transport: after its last event each shard polls for N
                              microseconds before it sleeps, trading CPU for the wake-up a
                              request arriving then would pay (0 to 10000; default 0: sleep)
  --services LIST             comma-separated services to host (default: all):
                              user (user.v1.UserService)
                              inventory (inventory.v1.InventoryService)
                              payment (payment.v1.PaymentService)
                              order (order.v1.OrderService; calls user, inventory
                                and payment: hosted here or given with --peer)
                              interop (grpc.testing.TestService)
                              health and reflection are always on (--no-reflection)
  --peer SERVICE=HOST:PORT[,HOST:PORT...]
                              SERVICE (user, inventory, payment, or order for --http)
                              runs in other processes at these addresses, one per
                              replica: calls go over gRPC, round_robin across the
                              replicas, deadlines propagated, idempotent methods retried
                              on UNAVAILABLE. Repeatable; a service may not be both
                              hosted and a peer. --http forwards its routes of a peer
                              service to the peer
  --max-message-bytes N       largest request or response accepted (default 4194304)
  --max-concurrent-streams N  concurrent calls per connection (default 1024)
  --max-connection-age-seconds N  connections are closed gracefully after N s, ±10%: GOAWAY,
                              then calls in flight may finish (default 1800)
  --max-connection-age-grace-seconds N  after that GOAWAY, calls still open are cancelled
                              and the connection closed after N s (default 300)
  --max-connections N         connections served at once; more are closed at accept
                              (default: 3/4 of the fd limit, which is raised to the hard
                              limit at start)
  --grpc-memory-limit-bytes N memory gRPC may use for connections and calls (its resource
                              quota; past it gRPC closes connections) (default: the larger
                              of 256 MiB and 4 x --max-message-bytes)
  --shutdown-grace SECONDS    on SIGTERM/SIGINT, time in-flight calls get to finish (default 10);
                              SIGHUP reloads the --tls-*, --peer-tls-* and --jwt-* files
                              (else it is ignored)
  --reuse-port                allow several servers on one port (SO_REUSEPORT; default off)
  --minimal-stack             gRPC's minimal filter stack: ~10% fewer instructions per call;
                              percore checks message sizes itself (after receipt), gRPC's
                              deadline filter is off (default off)
  --max-calls-per-shard N     calls a shard serves at once; more are refused
                              RESOURCE_EXHAUSTED; past half of it, a connection holding
                              its fair share of the shard's calls is refused (default 50000)
  --stream-idle-timeout SECONDS  a client- or bidi-streaming call on which nothing was
                              received or sent for this long, while the server waits for
                              the client, is ended DEADLINE_EXCEEDED; server streams
                              (watches) are exempt; 0: never (default 300)
  --shed-queue-delay-ms MS    while calls have waited longer than this to start for a
                              whole --shed-window-ms, new calls are refused
                              RESOURCE_EXHAUSTED at once (load shedding; health checks
                              exempt); 0: off (default 50)
  --shed-window-ms MS         how long the delay must stay over target (default 1000)
  --data-dir DIR              keep state durably in DIR (users, inventory, payments; a log
                              per shard, a snapshot per shard at each start); refused if
                              another server holds DIR (default: in memory only)
  --fsync always|everysec|no  with --data-dir: a write is answered once its log record is
                              fsynced (always; group commit), written to the file (everysec:
                              fsync at least once a second; no: fsync left to the kernel)
                              (default everysec)
  --recover-skip-corrupt      with --data-dir: skip a damaged record inside a log at start
                              instead of refusing to start (default: refuse, naming the file
                              and offset)
  --snapshot-every N          with --data-dir: each shard snapshots its users, inventory,
                              payments and orders while serving once a store's log has
                              grown N bytes (64MiB, 512KiB, 4096) or
                              N time has passed with writes (30s, 500ms), then drops the log
                              before the snapshot's cut; 0: only at start (default 64MiB)
  --idempotency-retention T   how long a settled order's idempotency key, an ended
                              reservation and a payment record are kept after their last
                              change (a repeat within it returns the first; after it the key
                              names a new one): 90s, 30m, 24h, 7d; 0: forever (default 24h)
  --admin HOST:PORT           serve the admin HTTP/1.1 listener here: /metrics (Prometheus
                              text format), /healthz (process up), /readyz (503 during
                              recovery and while draining); port 0 picks one (default off)
  --http HOST:PORT            serve the HTTP/1.1 + WebSocket gateway here: REST/JSON routes
                              onto the hosted and --peer services (/v1/users, /v1/products,
                              /v1/orders, POST /package.Service/Method), WebSocket watches
                              and chat, the web page at /; port 0 picks one (default off)
  --http-max-body-bytes N     largest HTTP request body; more is 413 (default 1048576)
  --no-reflection             do not serve grpc.reflection.* (default: served, both versions)
  --trace-log PATH            trace calls (W3C traceparent read from callers, a span per
                              call served and per call to a --peer, the context sent on to
                              peers and back in the response metadata): one JSON line per
                              span appended to PATH ("-": stderr) (default off)
  --trace-sample-ratio R      with --trace-log: share of new traces recorded, 0 to 1; a
                              caller's sampled flag is followed (default 1)
  --log-format text|json      stderr log lines as plain text, or one JSON object per line
                              (ts, level, shard, msg, trace_id/span_id under a call's trace)
                              (default text)
  --log-level LEVEL           debug, info, warn or error: lines below it are not written
                              (default info)
)" + cluster::ClusterUsage() +
         AuthUsage() + TlsUsage() +
         R"(  --help                      this text
)";
}

}  // namespace percore::server
