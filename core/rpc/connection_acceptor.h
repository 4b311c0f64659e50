#pragma once
// Threading contract: Listen(), Start() and Stop() from one control thread (ServerHost's); the
// acceptor then runs its own thread, which alone calls accept and the hand-over callback. Stop()
// returns only once that thread has been joined: after it, the callback is never called again.
//
// percore's own listening sockets and accept loop, in place of gRPC's. gRPC 1.51's TCP server
// gives up accepting forever once accept() fails with EMFILE (CVE-2023-4785, grpc/grpc#20418,
// #16058), and 1.51 has no channel argument that caps incoming connections. So percore binds
// and listens itself, accepts on a dedicated thread (never a shard: accepting is not on the
// request path) and hands each connection to gRPC with grpc::AddInsecureChannelFromFd, which
// owns and closes the fd from then on. Two guards keep accepting alive:
//   - a connection cap below the fd limit: past it, a new connection is accepted and closed at
//     once (the client sees a reset, not a hang in the backlog). gRPC closes connections out of
//     our sight, so the count is an estimate (accepted since the last recount) refreshed from
//     /proc/self/fd whenever it reaches the cap;
//   - the reserve-fd trick for EMFILE/ENFILE (the fd limit reached anyway, e.g. by other
//     sockets): close a spare fd, accept the pending connection, close it, reopen the spare,
//     and keep going, so the backlog drains and the loop never stalls.

#include <grpc/grpc.h>
#include <grpcpp/support/status.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/base/accept_errors.h"

namespace percore::rpc {

struct AcceptorOptions {
  std::string listen;  // HOST:PORT, [IPV6]:PORT; port 0 picks one; empty host or 0.0.0.0/[::]:
                       // every interface (IPv6 dual stack when available, as gRPC does)
  bool reuse_port = false;
  int max_connections = 0;  // 0: DefaultMaxConnections()
};

// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the soft limit now in force.
// `before` (optional) receives the soft limit found.
int64_t RaiseFileLimit(int64_t* before = nullptr);
// Three quarters of the soft fd limit: the rest is left for outgoing peer connections, gRPC's
// own descriptors and the reserve.
int DefaultMaxConnections();

// While alive on this thread, gRPC's Server::SetupTransport binds a connection added by fd to
// `queue` (see grpc_cq_pollset in connection_acceptor.cc). Hand-over thread only.
class SteerToQueue {
 public:
  explicit SteerToQueue(grpc_completion_queue* queue);
  ~SteerToQueue();
};

class ConnectionAcceptor {
 public:
  explicit ConnectionAcceptor(AcceptorOptions options);
  ~ConnectionAcceptor();  // Stop()
  ConnectionAcceptor(const ConnectionAcceptor&) = delete;
  ConnectionAcceptor& operator=(const ConnectionAcceptor&) = delete;

  // Resolves, binds and listens on every address of `listen` (like gRPC: success if at least
  // one binds). An error names the address.
  grpc::Status Listen();
  int port() const { return port_; }
  int max_connections() const { return max_connections_; }

  // Starts the accept thread; `hand_over` receives each accepted non-blocking fd and owns it.
  void Start(std::function<void(int fd)> hand_over);
  // Stops and joins the accept thread, then closes the listening sockets (new connections are
  // then refused by the kernel). Idempotent.
  void Stop();

  int64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }
  int64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  void Run();
  void AcceptReady(int listen_fd);
  bool UnderCap();
  void CloseListeners();

  AcceptorOptions options_;
  int max_connections_ = 0;
  std::vector<int> listen_fds_;
  int wake_fd_ = -1;                      // eventfd: Stop() wakes the thread's poll
  std::optional<SpareDescriptor> spare_;  // from Start() to Stop(): sheds one on EMFILE
  int port_ = 0;
  std::function<void(int)> hand_over_;
  std::thread thread_;
  // Accept-thread state: open fds when accepting started, connections estimated open.
  int64_t baseline_fds_ = 0;
  int64_t estimated_connections_ = 0;
  int64_t last_recount_ns_ = 0;
  int64_t last_log_ns_ = 0;
  std::atomic<int64_t> accepted_{0};
  std::atomic<int64_t> refused_{0};
};

}  // namespace percore::rpc
