#pragma once
// Threading contract: Add() only from the one thread that owns the counter (a shard's thread);
// value() from any thread.
//
// A counter that one thread writes and any thread reads, with no read-modify-write: the owner
// loads and stores (two plain moves on x86, no lock prefix, no cache line shared with another
// writer), a reader sees some recent value. This is the hot-path store of every per-shard metric:
// a fetch_add would be a locked instruction per call although no other thread ever writes.
// (prometheus-cpp's Counter is an atomic fetch_add meant to be shared by every thread, so it
// is not used here; see README.md.)

#include <atomic>
#include <cstdint>

namespace percore::observe {

class OwnedCounter {
 public:
  void Add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

}  // namespace percore::observe
