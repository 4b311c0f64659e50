#include "core/runtime/poller.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/observe/log.h"

namespace percore::runtime {
namespace {
uint32_t EpollEvents(uint32_t interest) {
  uint32_t events = 0;
  if (interest & Poller::kReadable) events |= EPOLLIN | EPOLLRDHUP;
  if (interest & Poller::kWritable) events |= EPOLLOUT;
  return events;
}
}  // namespace

Poller::Poller() : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {
  if (epoll_fd_ < 0) {
    observe::Log(observe::LogLevel::kError, "percore: epoll_create1: %s\n", std::strerror(errno));
    std::abort();
  }
}

Poller::~Poller() { close(epoll_fd_); }

bool Poller::Add(int fd, uint32_t interest, FdHandler* handler) {
  epoll_event event{};
  event.events = EpollEvents(interest);
  event.data.fd = fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) return false;
  if (handlers_.size() <= static_cast<size_t>(fd)) handlers_.resize(fd + 1, nullptr);
  handlers_[fd] = handler;
  ++watched_;
  return true;
}

bool Poller::Modify(int fd, uint32_t interest) {
  epoll_event event{};
  event.events = EpollEvents(interest);
  event.data.fd = fd;
  return epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event) == 0;
}

void Poller::Remove(int fd) {
  if (static_cast<size_t>(fd) >= handlers_.size() || handlers_[fd] == nullptr) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  handlers_[fd] = nullptr;
  --watched_;
}

void Poller::RunDeferred() {
  while (!deferred_.empty()) {
    running_.swap(deferred_);
    for (Deferred* d : running_) {
      d->deferred_ = false;
      d->RunDeferred();  // may free d: it is not touched again
    }
    running_.clear();
  }
}

int Poller::Wait(int timeout_ms) {
  epoll_event events[64];
  int ready = epoll_wait(epoll_fd_, events, 64, timeout_ms);
  if (ready < 0) {
    if (errno != EINTR)
      observe::Log(observe::LogLevel::kError, "percore: epoll_wait: %s\n", std::strerror(errno));
    return 0;
  }
  for (int i = 0; i < ready; ++i) {
    int fd = events[i].data.fd;
    FdHandler* handler = static_cast<size_t>(fd) < handlers_.size() ? handlers_[fd] : nullptr;
    if (handler == nullptr) continue;  // removed earlier in this batch
    handler->OnFdReady(events[i].events);
  }
  return ready;
}

}  // namespace percore::runtime
