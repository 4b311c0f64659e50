#pragma once
// Threading contract: one producer thread (a shard's) calls Push(); one consumer thread (the
// span writer's) calls Drain(). Nothing else; no lock.
//
// A bounded single-producer/single-consumer ring of finished spans: the shard copies a record in
// and moves on; the writer thread copies records out. When the writer falls behind the ring
// fills and further spans are dropped (counted), so tracing never blocks or grows a shard's
// memory.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/observe/owned_counter.h"

namespace percore::observe {

enum class SpanKind : uint8_t { kServer, kClient };

// One finished span. The names point at strings that live as long as the server (the method's
// binding, the peer's registered methods), so no string is copied on the shard; the tracestate
// is shared with the trace's contexts.
struct SpanRecord {
  uint64_t trace_hi = 0;
  uint64_t trace_lo = 0;
  uint64_t span_id = 0;
  uint64_t parent_span_id = 0;  // 0: a root span
  int64_t start_unix_nanos = 0;
  int64_t duration_nanos = 0;
  std::string_view service;  // "user.v1.UserService"
  std::string_view method;   // "GetUser"
  uint32_t shard = 0;
  int grpc_code = 0;
  SpanKind kind = SpanKind::kServer;
  std::shared_ptr<const std::string> tracestate;  // the trace's, shared (no copy); may be null
};

class SpanRing {
 public:
  static constexpr size_t kCapacity = 2048;  // a power of two

  // False (and counted in dropped()) when the ring is full.
  bool Push(const SpanRecord& record) {
    uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_cache_ >= kCapacity) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head - tail_cache_ >= kCapacity) {
        dropped_.Add();
        return false;
      }
    }
    slots_[head & (kCapacity - 1)] = record;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Calls fn(record) for every span pushed so far; returns how many.
  template <class Fn>
  size_t Drain(Fn&& fn) {
    uint64_t tail = tail_.load(std::memory_order_relaxed);
    uint64_t head = head_.load(std::memory_order_acquire);
    for (uint64_t i = tail; i != head; ++i) fn(slots_[i & (kCapacity - 1)]);
    tail_.store(head, std::memory_order_release);
    return static_cast<size_t>(head - tail);
  }

  uint64_t dropped() const { return dropped_.value(); }

 private:
  alignas(64) std::atomic<uint64_t> head_{0};  // written by the producer
  uint64_t tail_cache_ = 0;                    // the producer's last look at tail_
  OwnedCounter dropped_;                       // written by the producer
  alignas(64) std::atomic<uint64_t> tail_{0};  // written by the consumer
  std::array<SpanRecord, kCapacity> slots_;
};

}  // namespace percore::observe
