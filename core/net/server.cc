#include "core/net/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <utility>

#include "core/net/shard_server.h"

namespace percore::net {
namespace {

// A non-blocking listening socket on host:port with SO_REUSEPORT; -1 with *error on failure.
int ListenOn(const std::string& host, int port, int* bound_port, std::string* error) {
  sockaddr_storage address{};
  socklen_t length = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    length = sizeof(sockaddr_in6);
  } else {
    *error = "not an IPv4 or IPv6 address: " + host;
    return -1;
  }
  int fd = socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::strerror(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // Every shard listens on the port; the kernel spreads new connections over them.
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 || listen(fd, SOMAXCONN) != 0) {
    *error = "cannot listen on " + host + ":" + std::to_string(port) + ": " + std::strerror(errno);
    close(fd);
    return -1;
  }
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length);
  *bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return fd;
}

// Runs fn() on every shard and waits for all of them.
template <class Fn>
void OnEveryShard(runtime::Runtime& runtime, Fn fn) {
  std::vector<std::promise<void>> done(runtime.size());
  for (runtime::ShardId id = 0; id < runtime.size(); ++id) {
    if (!runtime.SubmitTo(id, [&, id] {
          fn(id);
          done[id].set_value();
        })) {
      done[id].set_value();
    }
  }
  for (auto& d : done) d.get_future().wait();
}

}  // namespace

Server::Server(runtime::Runtime& runtime, Dispatcher& dispatcher, WireOptions options)
    : runtime_(runtime), dispatcher_(dispatcher), options_(options) {
  for (size_t i = 0; i < runtime_.size(); ++i) stats_.push_back(std::make_unique<WireStats>());
  shard_servers_.resize(runtime_.size(), nullptr);
}

Server::~Server() {
  Stop();
  SSL_CTX_free(tls_);
}

void Server::SetTls(SSL_CTX* ctx) {
  if (ctx != nullptr) SSL_CTX_up_ref(ctx);
  SSL_CTX* old = std::exchange(tls_, ctx);
  if (running_) {
    OnEveryShard(runtime_, [&](runtime::ShardId id) { shard_servers_[id]->SetTls(tls_); });
  }
  SSL_CTX_free(old);
}

bool Server::Start(const std::string& host, int port, std::string* error) {
  if (runtime_.size() == 0 || runtime_.shard(0).loop_mode() != runtime::LoopMode::kEpoll ||
      !runtime_.running() || running_) {
    *error = "the native transport needs a started runtime in LoopMode::kEpoll";
    return false;
  }
  std::vector<int> fds;
  for (size_t i = 0; i < runtime_.size(); ++i) {
    int bound = 0;
    int fd = ListenOn(host, i == 0 ? port : port_, &bound, error);
    if (fd < 0) {
      for (int f : fds) close(f);
      port_ = 0;
      return false;
    }
    if (i == 0) port_ = bound;
    fds.push_back(fd);
  }
  OnEveryShard(runtime_, [&](runtime::ShardId id) {
    runtime::Shard& shard = runtime_.shard(id);
    auto* server = new ShardServer(shard, fds[id], dispatcher_, options_, *stats_[id]);
    shard_servers_[id] = server;
    server->SetTls(tls_);
    server->Start();
  });
  running_ = true;
  return true;
}

void Server::Drain() {
  if (!running_) return;
  OnEveryShard(runtime_, [&](runtime::ShardId id) { shard_servers_[id]->Drain(); });
}

void Server::Stop() {
  if (!running_) return;
  running_ = false;
  OnEveryShard(runtime_, [&](runtime::ShardId id) {
    delete shard_servers_[id];
    shard_servers_[id] = nullptr;
  });
}

int64_t Server::Sum(std::atomic<int64_t> WireStats::*counter) const {
  int64_t total = 0;
  for (const auto& s : stats_) total += ((*s).*counter).load(std::memory_order_relaxed);
  return total;
}

int64_t Server::open_connections() const { return Sum(&WireStats::connections); }
int64_t Server::live_streams() const { return Sum(&WireStats::live_streams); }
int64_t Server::cancelled_streams() const { return Sum(&WireStats::cancelled_streams); }
int64_t Server::authorization_reuses() const { return Sum(&WireStats::authorization_reuses); }
int64_t Server::streams_total() const { return Sum(&WireStats::streams_total); }
int64_t Server::accept_errors() const { return Sum(&WireStats::accept_errors); }

}  // namespace percore::net
