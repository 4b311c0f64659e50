#include "core/net/shard_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "core/net/connection.h"
#include "core/observe/log.h"

namespace percore::net {
namespace {

// A bounded batch per readiness event, so accepting cannot starve the shard's connections.
constexpr int kAcceptsPerEvent = 64;
// Out of descriptors with no spare to shed the pending connection: listen again after this.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(50);

std::string PeerName(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    return std::string("ipv6:[") + host + "]:" + std::to_string(ntohs(a->sin6_port));
  }
  const auto* a = reinterpret_cast<const sockaddr_in*>(&address);
  inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
  return std::string("ipv4:") + host + ":" + std::to_string(ntohs(a->sin_port));
}

}  // namespace

ShardServer::ShardServer(runtime::Shard& shard, int listen_fd, Dispatcher& dispatcher,
                         const WireOptions& options, WireStats& stats)
    : shard_(shard),
      listen_fd_(listen_fd),
      dispatcher_(dispatcher),
      options_(options),
      stats_(stats),
      read_buffer_(new uint8_t[kReadBufferBytes]),
      jitter_state_(0x9E3779B97F4A7C15ull ^ (uint64_t{shard.id()} << 32) ^
                    static_cast<uint64_t>(runtime::Clock::now().time_since_epoch().count())) {}

ShardServer::~ShardServer() {
  StopListening();
  if (age_timer_ != 0) shard_.CancelTimer(age_timer_);
  // Each close cancels the connection's open streams and unlinks it.
  for (Connection* c = connections_; c != nullptr; c = c->next) c->Close();
  poller().RunDeferred();
  SSL_CTX_free(tls_);
}

void ShardServer::SetTls(SSL_CTX* ctx) {
  if (ctx != nullptr) SSL_CTX_up_ref(ctx);
  SSL_CTX_free(std::exchange(tls_, ctx));
}

void ShardServer::Start() {
  spare_.emplace();
  if (!poller().Add(listen_fd_, runtime::Poller::kReadable, this)) {
    observe::Log(observe::LogLevel::kError, "percore: shard %u cannot watch its listener: %s\n",
                 shard_.id(), std::strerror(errno));
  }
}

void ShardServer::StopListening() {
  if (resume_timer_ != 0) {
    shard_.CancelTimer(resume_timer_);
    resume_timer_ = 0;
  }
  if (listen_fd_ >= 0) {
    poller().Remove(listen_fd_);
    close(listen_fd_);
    listen_fd_ = -1;
  }
}

void ShardServer::Drain() {
  draining_ = true;
  StopListening();
  for (Connection* c = connections_; c != nullptr; c = c->next) c->Drain();
}

void ShardServer::Link(Connection* connection) {
  connection->next = connections_;
  if (connections_ != nullptr) connections_->prev = connection;
  connections_ = connection;
  auto age = options_.max_connection_age;
  if (age.count() > 0) {
    jitter_state_ ^= jitter_state_ << 13;
    jitter_state_ ^= jitter_state_ >> 7;
    jitter_state_ ^= jitter_state_ << 17;
    double factor = 0.9 + 0.2 * static_cast<double>(jitter_state_ % 10001) / 10000.0;
    connection->drain_at = runtime::Clock::now() +
                           std::chrono::duration_cast<runtime::Clock::duration>(
                               std::chrono::duration<double, std::milli>(age.count() * factor));
    ArmAgeSweep();
  }
}

void ShardServer::ArmAgeSweep() {
  if (age_timer_ != 0 || connections_ == nullptr) return;
  auto period = std::clamp<std::chrono::milliseconds>(
      options_.max_connection_age / 10, std::chrono::milliseconds(10), std::chrono::seconds(1));
  age_timer_ = shard_.RunAfter(period, [this] {
    age_timer_ = 0;
    SweepAges();
  });
}

void ShardServer::SweepAges() {
  auto now = runtime::Clock::now();
  for (Connection* c = connections_; c != nullptr;) {
    Connection* next = c->next;  // Close() unlinks only at the end of the round, but be safe
    if (now >= c->close_at) {
      c->Close();
    } else if (now >= c->drain_at && !c->draining()) {
      WireStats::Add(stats_.aged_connections, 1);
      c->Drain();
      c->close_at = now + options_.max_connection_age_grace;
    }
    c = next;
  }
  ArmAgeSweep();
}

void ShardServer::Unlink(Connection* connection) {
  if (connection->prev != nullptr) connection->prev->next = connection->next;
  if (connection->next != nullptr) connection->next->prev = connection->prev;
  if (connections_ == connection) connections_ = connection->next;
  connection->prev = connection->next = nullptr;
}

void ShardServer::OnFdReady(uint32_t) {
  for (int i = 0; i < kAcceptsPerEvent && listen_fd_ >= 0; ++i) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      switch (ClassifyAcceptError(errno)) {
        case AcceptError::kDrained:
          return;
        case AcceptError::kRetry:
          continue;
        case AcceptError::kOutOfDescriptors:
          WireStats::Add(stats_.accept_errors, 1);
          OutOfDescriptors();
          return;
        case AcceptError::kBackOff:  // ENOBUFS, ENOMEM: the same back-off, without the spare
          WireStats::Add(stats_.accept_errors, 1);
          PauseAccepting();
          return;
      }
    }
    if (options_.max_connections_per_shard > 0 &&
        stats_.connections.load(std::memory_order_relaxed) >=
            static_cast<int64_t>(options_.max_connections_per_shard)) {
      close(fd);  // over the cap: the client hears at once instead of queueing unserved
      WireStats::Add(stats_.refused_connections, 1);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto* connection = new Connection(this, fd, PeerName(address));
    connection->Start();
  }
}

void ShardServer::OutOfDescriptors() {
  // Give up the spare to take the pending connection off the backlog and close it, so the
  // listener does not stay readable (a busy loop) and the client hears at once.
  if (spare_) spare_->ShedPending(listen_fd_);
  // Either way, listen again only after a pause: descriptors are freed by connections closing,
  // not by accepting harder. Accepting resumes; it never stops for good (CVE-2023-4785).
  PauseAccepting();
  auto now = runtime::Clock::now();
  if (now - last_log_ > std::chrono::seconds(1)) {
    last_log_ = now;
    observe::Log(observe::LogLevel::kWarn,
                 "percore: shard %u out of file descriptors: refusing connections\n", shard_.id());
  }
}

void ShardServer::PauseAccepting() {
  if (listen_fd_ < 0 || accept_paused_) return;
  accept_paused_ = true;
  poller().Remove(listen_fd_);
  resume_timer_ = shard_.RunAfter(kAcceptBackoff, [this] {
    resume_timer_ = 0;
    accept_paused_ = false;
    if (listen_fd_ >= 0) poller().Add(listen_fd_, runtime::Poller::kReadable, this);
  });
}

}  // namespace percore::net
