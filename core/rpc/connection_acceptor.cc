#include "core/rpc/connection_acceptor.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "core/observe/log.h"

struct grpc_pollset;

namespace percore::rpc {
namespace {

thread_local grpc_completion_queue* steer_queue = nullptr;

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int64_t count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // the directory's own fd
}

// "HOST:PORT" or "[IPV6]:PORT" into its parts; the port must be 0-65535.
bool SplitListen(const std::string& listen, std::string* host, int* port) {
  size_t colon;
  if (!listen.empty() && listen[0] == '[') {
    size_t close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return false;
    }
    *host = listen.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = listen.rfind(':');
    if (colon == std::string::npos) return false;
    *host = listen.substr(0, colon);
  }
  const char* begin = listen.data() + colon + 1;
  const char* end = listen.data() + listen.size();
  int value = -1;
  auto [last, ec] = std::from_chars(begin, end, value);
  if (begin == end || ec != std::errc() || last != end || value < 0 || value > 65535) return false;
  *port = value;
  return true;
}

void SetPort(sockaddr_storage* address, int port) {
  if (address->ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(address)->sin6_port = htons(static_cast<uint16_t>(port));
  } else {
    reinterpret_cast<sockaddr_in*>(address)->sin_port = htons(static_cast<uint16_t>(port));
  }
}

void SetFlag(int fd, int level, int name, int value) {
  setsockopt(fd, level, name, &value, sizeof value);
}

}  // namespace

int64_t RaiseFileLimit(int64_t* before) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
  if (before != nullptr) *before = static_cast<int64_t>(limit.rlim_cur);
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? INT64_MAX : static_cast<int64_t>(limit.rlim_cur);
}

int DefaultMaxConnections() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 768;
  int64_t soft = limit.rlim_cur == RLIM_INFINITY ? (1 << 20) : static_cast<int64_t>(limit.rlim_cur);
  return static_cast<int>(std::clamp<int64_t>(soft * 3 / 4, 16, 1 << 24));
}

ConnectionAcceptor::ConnectionAcceptor(AcceptorOptions options) : options_(std::move(options)) {
  max_connections_ =
      options_.max_connections > 0 ? options_.max_connections : DefaultMaxConnections();
}

ConnectionAcceptor::~ConnectionAcceptor() {
  Stop();
  CloseListeners();
}

grpc::Status ConnectionAcceptor::Listen() {
  std::string host;
  int port = 0;
  auto fail = [&](const std::string& why) {
    CloseListeners();
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "cannot listen on " + options_.listen + " (" + why + ")");
  };
  if (!SplitListen(options_.listen, &host, &port)) {
    return fail("not HOST:PORT with a port from 0 to 65535");
  }
  std::vector<sockaddr_storage> addresses;
  bool wildcard = host.empty() || host == "0.0.0.0" || host == "::";
  if (wildcard) {
    // As gRPC does: one IPv6 socket that also takes IPv4, or IPv4 alone without IPv6.
    sockaddr_storage any6{};
    any6.ss_family = AF_INET6;
    reinterpret_cast<sockaddr_in6*>(&any6)->sin6_addr = in6addr_any;
    sockaddr_storage any4{};
    any4.ss_family = AF_INET;
    reinterpret_cast<sockaddr_in*>(&any4)->sin_addr.s_addr = htonl(INADDR_ANY);
    addresses = {any6, any4};
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
    if (rc != 0) return fail(std::string("cannot resolve host: ") + gai_strerror(rc));
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
      sockaddr_storage s{};
      std::memcpy(&s, a->ai_addr, std::min<size_t>(a->ai_addrlen, sizeof s));
      bool seen = std::any_of(addresses.begin(), addresses.end(), [&](const sockaddr_storage& o) {
        return std::memcmp(&o, &s, sizeof s) == 0;
      });
      if (!seen) addresses.push_back(s);
    }
    freeaddrinfo(found);
  }

  std::string last_error = "no address";
  for (sockaddr_storage& address : addresses) {
    if (wildcard && !listen_fds_.empty()) break;  // the dual-stack socket took IPv4 too
    SetPort(&address, port_ != 0 ? port_ : port);
    int fd = socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    SetFlag(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    // gRPC turns SO_REUSEPORT on by default (a second server silently shares the port,
    // grpc/grpc#17298); percore only when asked.
    if (options_.reuse_port) SetFlag(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    if (address.ss_family == AF_INET6) SetFlag(fd, IPPROTO_IPV6, IPV6_V6ONLY, wildcard ? 0 : 1);
    SetFlag(fd, IPPROTO_TCP, TCP_NODELAY, 1);  // accepted sockets inherit it
    socklen_t length = address.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        listen(fd, SOMAXCONN) != 0) {
      last_error = std::strerror(errno);
      close(fd);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t bound_length = sizeof bound;
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length);
    port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    listen_fds_.push_back(fd);
  }
  if (listen_fds_.empty()) {
    port_ = 0;
    return fail(last_error + "; address in use or not valid for this host?");
  }
  return grpc::Status::OK;
}

void ConnectionAcceptor::Start(std::function<void(int fd)> hand_over) {
  hand_over_ = std::move(hand_over);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  spare_.emplace();
  baseline_fds_ = CountOpenFds();
  thread_ = std::thread([this] { Run(); });
}

void ConnectionAcceptor::Stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) < 0) {
      // An eventfd write fails only on overflow, which means it is already signalled.
    }
    thread_.join();
  }
  CloseListeners();
  if (wake_fd_ >= 0) close(wake_fd_);
  wake_fd_ = -1;
  spare_.reset();
}

void ConnectionAcceptor::CloseListeners() {
  for (int fd : listen_fds_) close(fd);
  listen_fds_.clear();
}

void ConnectionAcceptor::Run() {
  std::vector<pollfd> fds;
  fds.push_back({wake_fd_, POLLIN, 0});
  for (int fd : listen_fds_) fds.push_back({fd, POLLIN, 0});
  for (;;) {
    int ready = poll(fds.data(), fds.size(), -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      observe::Log(observe::LogLevel::kError, "percore: accept loop: poll: %s\n",
                   std::strerror(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (fds[0].revents != 0) return;
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents != 0) AcceptReady(fds[i].fd);
    }
  }
}

void ConnectionAcceptor::AcceptReady(int listen_fd) {
  // A bounded batch per wake-up, so one busy listener cannot starve the others or Stop().
  for (int batch = 0; batch < 64; ++batch) {
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      switch (ClassifyAcceptError(errno)) {
        case AcceptError::kDrained:
          return;
        case AcceptError::kRetry:
          continue;
        case AcceptError::kOutOfDescriptors:
          refused_.fetch_add(1, std::memory_order_relaxed);
          if (!spare_ || !spare_->ShedPending(listen_fd)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
          }
          if (int64_t now = NowNanos(); now - last_log_ns_ > 1'000'000'000) {
            last_log_ns_ = now;
            observe::Log(observe::LogLevel::kWarn,
                         "percore: out of file descriptors: closing new connections "
                         "(%lld refused so far)\n",
                         static_cast<long long>(refused()));
          }
          continue;
        case AcceptError::kBackOff:  // ENOBUFS, ENOMEM: back off briefly and keep accepting
          observe::Log(observe::LogLevel::kError, "percore: accept: %s\n", std::strerror(errno));
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          return;
      }
    }
    accepted_.fetch_add(1, std::memory_order_relaxed);
    if (!UnderCap()) {
      refused_.fetch_add(1, std::memory_order_relaxed);  // counted before the client can see it
      close(fd);
      if (int64_t now = NowNanos(); now - last_log_ns_ > 1'000'000'000) {
        last_log_ns_ = now;
        observe::Log(observe::LogLevel::kWarn,
                     "percore: %lld connections open, the cap (--max-connections %d): closing "
                     "new ones (%lld refused so far)\n",
                     static_cast<long long>(estimated_connections_), max_connections_,
                     static_cast<long long>(refused()));
      }
      continue;
    }
    hand_over_(fd);
  }
}

bool ConnectionAcceptor::UnderCap() {
  ++estimated_connections_;
  if (estimated_connections_ <= max_connections_) return true;
  // gRPC has closed some since, out of sight: recount what is open (the new fd included), at
  // most every 10 ms so a flood at the cap costs little.
  int64_t now = NowNanos();
  if (now - last_recount_ns_ >= 10'000'000) {
    last_recount_ns_ = now;
    int64_t open_fds = CountOpenFds();
    if (open_fds >= 0) estimated_connections_ = std::max<int64_t>(1, open_fds - baseline_fds_);
  }
  if (estimated_connections_ <= max_connections_) return true;
  --estimated_connections_;  // this one is closed by the caller
  return false;
}

}  // namespace percore::rpc

namespace percore::rpc {
SteerToQueue::SteerToQueue(grpc_completion_queue* queue) { steer_queue = queue; }
SteerToQueue::~SteerToQueue() { steer_queue = nullptr; }
}  // namespace percore::rpc

// Interposes libgrpc's own grpc_cq_pollset (called through its PLT). Unchanged except on a
// thread inside a SteerToQueue: there the steered queue answers "no pollset" and every other
// queue a non-null one, so Server::SetupTransport (which looks for the queue whose pollset
// equals the accepting pollset, null for connections added by fd) picks the steered queue.
grpc_pollset* grpc_cq_pollset(grpc_completion_queue* cq) {
  static auto* real = reinterpret_cast<grpc_pollset* (*)(grpc_completion_queue*)>(
      dlsym(RTLD_NEXT, "_Z15grpc_cq_pollsetP21grpc_completion_queue"));
  grpc_completion_queue* steered = percore::rpc::steer_queue;
  if (steered == nullptr) return real(cq);
  if (cq == steered) return nullptr;
  static char placeholder;  // compared only, never used as a pollset
  grpc_pollset* pollset = real(cq);
  return pollset != nullptr ? pollset : reinterpret_cast<grpc_pollset*>(&placeholder);
}
