#pragma once
// Threading contract: one IdleStreams per shard (inside ShardAdmission); every method on that
// shard's thread. A linked call unlinks itself before it is freed.
//
// The streams of a shard on which the server waits for the client, in order of their last
// activity (a message received or sent): touching a stream moves it to the back, so the ones
// idle longest are at the front and a sweep ends only those past the timeout, O(ended). One
// shard timer sweeps, armed only while some stream is watched. No per-stream timer: a stream
// that is busy costs a clock read and two pointer moves per message.

#include <chrono>

#include "core/runtime/timer_queue.h"

namespace percore::runtime {
class Shard;
}

namespace percore::rpc {

// A call the sweeper can end: libgrpc's CallBase and the byte-level ByteCallBase.
class IdleEndable {
 public:
  // Ends the call with DEADLINE_EXCEEDED (or resets it when a write is stuck behind a client
  // that does not read). It may free the call, and with it the link.
  virtual void EndIdle(std::chrono::milliseconds timeout) = 0;

 protected:
  ~IdleEndable() = default;
};

struct IdleLink {
  IdleEndable* call = nullptr;
  IdleLink* prev = nullptr;
  IdleLink* next = nullptr;
  runtime::Clock::time_point last;
  bool linked = false;
};

class IdleStreams {
 public:
  explicit IdleStreams(runtime::Shard& shard) : shard_(shard) {}
  IdleStreams(const IdleStreams&) = delete;
  IdleStreams& operator=(const IdleStreams&) = delete;

  // Starts watching (or touches) `link`; `timeout` is the same for every stream of a server.
  void Watch(IdleLink& link, std::chrono::milliseconds timeout);
  void Touch(IdleLink& link);
  void Unwatch(IdleLink& link);
  size_t size() const { return size_; }

 private:
  void PushBack(IdleLink& link);
  void Arm();
  void Sweep();

  runtime::Shard& shard_;
  std::chrono::milliseconds timeout_{0};
  IdleLink* head_ = nullptr;  // idle longest
  IdleLink* tail_ = nullptr;
  size_t size_ = 0;
  bool armed_ = false;
};

}  // namespace percore::rpc
