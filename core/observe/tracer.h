#pragma once
// Threading contract: a Tracer is made, Start()ed and Stop()ped on the control thread, and must
// outlive the shard threads (declare it before the Runtime). Each ShardTracer is used only by its
// shard's thread, which finds it with ShardTracer::Current() once Install() ran there; the
// writer thread only drains the shards' rings (span_ring.h). No lock anywhere on a shard.
//
// Spans of gRPC calls, server side (core/rpc: one per call a method handles) and client side
// (services/remote: one per call to a peer), with W3C trace context (trace_context.h) read from
// and sent in the calls' `traceparent` metadata, written as JSON lines (one span per line) to a
// file or stderr (--trace-log) by a writer thread that drains every shard's ring every 20 ms.
// Sampling follows the parent's flag when there is a parent, else --trace-sample-ratio; an
// unsampled span still carries its context on, so a downstream process agrees.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/observe/span_ring.h"
#include "core/observe/trace_context.h"

namespace percore::observe {

// A span begun and not yet ended: its own context (trace, its span id, flags), its parent's
// span id, and when it began.
struct OpenSpan {
  TraceContext context;
  uint64_t parent_span_id = 0;
  int64_t start_unix_nanos = 0;
  std::chrono::steady_clock::time_point start;
};

class ShardTracer {
 public:
  ShardTracer(uint32_t shard, double sample_ratio, uint64_t seed);

  // The tracer of the calling shard's thread; nullptr when tracing is off (or off a shard).
  static ShardTracer* Current() { return current_; }
  // Run on the shard's own thread (Tracer::Install does).
  static void SetCurrent(ShardTracer* tracer) { current_ = tracer; }

  // Begins a span: a child of `parent` when that is valid (sampled as it is), else the root of a
  // new trace (sampled at the ratio).
  OpenSpan Begin(const TraceContext& parent);
  // Ends it: written when sampled.
  void End(const OpenSpan& span, SpanKind kind, std::string_view service, std::string_view method,
           int grpc_code);

  SpanRing& ring() { return ring_; }

 private:
  uint64_t NextRandom();

  static thread_local ShardTracer* current_;
  const uint32_t shard_;
  const uint64_t sample_threshold_;  // sampled when a random 64-bit value is below it
  const bool sample_all_;
  uint64_t rng_state_;
  SpanRing ring_;
};

struct TracerOptions {
  std::string path;           // the JSON lines file (appended to); "-" or "stderr": stderr
  double sample_ratio = 1.0;  // of new traces (a parent's decision is followed)
  std::string process;        // written in every span ("order", "user", ...)
};

class Tracer {
 public:
  Tracer(TracerOptions options, size_t shards);
  ~Tracer() { Stop(); }
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // Opens the file and starts the writer thread; false with `error` when it cannot be opened.
  bool Start(std::string* error);
  // Writes what the rings hold, stops the writer, closes the file. Spans ended afterwards are
  // not written. Idempotent.
  void Stop();

  ShardTracer& shard(size_t i) { return *shards_[i]; }
  size_t size() const { return shards_.size(); }
  uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  uint64_t dropped() const;

 private:
  void WriterLoop();
  void DrainOnce();

  TracerOptions options_;
  std::vector<std::unique_ptr<ShardTracer>> shards_;
  std::FILE* out_ = nullptr;
  bool owns_out_ = false;
  std::thread writer_;
  std::mutex stop_mutex_;  // the writer's sleep only; never taken by a shard
  std::condition_variable stop_changed_;
  bool stopping_ = false;
  std::atomic<uint64_t> written_{0};
  std::string line_;  // writer thread's buffer
};

// One span as a JSON line (no trailing newline): what the writer writes, for tests.
std::string SpanJson(const SpanRecord& span, std::string_view process);

}  // namespace percore::observe
