#pragma once
// Threading contract: owned by one shard (epoll loop mode only); every call from that shard's
// thread. Handlers run on that thread.
//
// What the shard's epoll loop waits on besides its mailbox: file descriptors registered by code
// running on the shard (core/net's listeners and connections), each with a handler object whose
// OnFdReady() runs when the fd is ready — a member callback, not a std::function, since it runs
// once per readiness event on the hot path. Handlers are looked up by fd at dispatch, so a handler
// removed earlier in the same epoll batch is never called; a new fd that reuses a closed one's
// number may see one spurious event, which non-blocking I/O shrugs off.
//
// Deferred work: Defer(d) runs d->RunDeferred() once after the current round of events, tasks
// and timers (each object at most once per round, by its `deferred_` flag). Connections batch
// what many calls wrote in one round into one send this way, and free themselves there (never
// while an event for them may still be in the current batch).

#include <cstddef>
#include <cstdint>
#include <vector>

namespace percore::runtime {

class FdHandler {
 public:
  virtual void OnFdReady(uint32_t events) = 0;  // EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP bits

 protected:
  ~FdHandler() = default;
};

class Deferred {
 public:
  virtual void RunDeferred() = 0;

 protected:
  ~Deferred() = default;

 private:
  friend class Poller;
  bool deferred_ = false;
};

class Poller {
 public:
  static constexpr uint32_t kReadable = 1;
  static constexpr uint32_t kWritable = 2;

  Poller();
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Level-triggered. False (with errno) if epoll refuses the fd.
  bool Add(int fd, uint32_t interest, FdHandler* handler);
  bool Modify(int fd, uint32_t interest);
  // Before closing the fd.
  void Remove(int fd);
  size_t watched() const { return watched_; }

  void Defer(Deferred* d) {
    if (d->deferred_) return;
    d->deferred_ = true;
    deferred_.push_back(d);
  }
  // Runs deferred work until none is left (work deferred while running runs in the same call).
  void RunDeferred();

  // The shard loop's side.
  int epoll_fd() const { return epoll_fd_; }
  // Waits up to timeout_ms (-1: forever) and runs the handlers of what is ready; returns how
  // many were ready (0: the time passed).
  int Wait(int timeout_ms);

 private:
  int epoll_fd_ = -1;
  size_t watched_ = 0;
  std::vector<FdHandler*> handlers_;  // by fd
  std::vector<Deferred*> deferred_;
  std::vector<Deferred*> running_;
};

}  // namespace percore::runtime
