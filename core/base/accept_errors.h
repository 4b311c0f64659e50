#pragma once
// Threading contract: ClassifyAcceptError is a pure function; a SpareDescriptor belongs to the
// one thread that accepts on its listener.
//
// What both of percore's accept loops (core/rpc's ConnectionAcceptor for libgrpc, core/net's
// per-shard listeners) do with an accept4() error, written once. Running out of descriptors
// must never stop accepting for good (gRPC core's loop does: grpc/grpc#20418): the spare
// descriptor is given up to take the pending connection off the backlog and close it at once,
// so the listener does not stay readable (a busy loop) and the client hears now.

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace percore {

enum class AcceptError {
  kDrained,           // EAGAIN: nothing more to accept now
  kRetry,             // EINTR, ECONNABORTED, EPROTO: that connection is gone; accept the next
  kOutOfDescriptors,  // EMFILE, ENFILE: shed the pending connection (SpareDescriptor), back off
  kBackOff,           // ENOBUFS, ENOMEM and the rest: pause accepting briefly, then go on
};

constexpr AcceptError ClassifyAcceptError(int error) {
  switch (error) {
    case EAGAIN:
      return AcceptError::kDrained;
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
      return AcceptError::kRetry;
    case EMFILE:
    case ENFILE:
      return AcceptError::kOutOfDescriptors;
    default:
      return AcceptError::kBackOff;
  }
}

// One descriptor held in reserve (on /dev/null) for the moment the process has no other.
class SpareDescriptor {
 public:
  SpareDescriptor() : fd_(Open()) {}
  ~SpareDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  SpareDescriptor(const SpareDescriptor&) = delete;
  SpareDescriptor& operator=(const SpareDescriptor&) = delete;

  // Out of descriptors: frees the spare, accepts and closes one pending connection on
  // `listen_fd`, takes the spare back. False when there was no spare to give (the caller should
  // back off; the spare is retried here).
  bool ShedPending(int listen_fd) {
    if (fd_ < 0) {
      fd_ = Open();
      return false;
    }
    ::close(std::exchange(fd_, -1));
    int pending = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (pending >= 0) ::close(pending);
    fd_ = Open();
    return true;
  }

 private:
  static int Open() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }
  int fd_;
};

}  // namespace percore
