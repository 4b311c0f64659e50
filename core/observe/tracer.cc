#include "core/observe/tracer.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>

#include "core/observe/grpc_server_metrics.h"
#include "core/observe/json_text.h"

namespace percore::observe {

thread_local ShardTracer* ShardTracer::current_ = nullptr;

namespace {

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string Hex(uint64_t value) {
  std::string out;
  trace_internal::AppendHex(value, 16, &out);
  return out;
}

}  // namespace

ShardTracer::ShardTracer(uint32_t shard, double sample_ratio, uint64_t seed)
    : shard_(shard),
      sample_threshold_(sample_ratio <= 0   ? 0
                        : sample_ratio >= 1 ? UINT64_MAX
                                            : static_cast<uint64_t>(sample_ratio * 0x1p64)),
      sample_all_(sample_ratio >= 1),
      rng_state_(seed) {}

uint64_t ShardTracer::NextRandom() {
  uint64_t value = 0;
  while (value == 0) value = SplitMix64(rng_state_);  // ids are never zero
  return value;
}

OpenSpan ShardTracer::Begin(const TraceContext& parent) {
  OpenSpan span;
  if (parent.valid()) {
    span.context = parent;
    span.parent_span_id = parent.span_id;
  } else {
    span.context.trace_hi = NextRandom();
    span.context.trace_lo = NextRandom();
    bool sampled = sample_all_ || (sample_threshold_ != 0 && NextRandom() < sample_threshold_);
    span.context.flags = sampled ? 1 : 0;
  }
  span.context.span_id = NextRandom();
  span.start = std::chrono::steady_clock::now();
  span.start_unix_nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  return span;
}

void ShardTracer::End(const OpenSpan& span, SpanKind kind, std::string_view service,
                      std::string_view method, int grpc_code) {
  if (!span.context.sampled()) return;
  SpanRecord record;
  record.trace_hi = span.context.trace_hi;
  record.trace_lo = span.context.trace_lo;
  record.span_id = span.context.span_id;
  record.parent_span_id = span.parent_span_id;
  record.start_unix_nanos = span.start_unix_nanos;
  record.duration_nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::steady_clock::now() - span.start)
                              .count();
  record.service = service;
  record.method = method;
  record.shard = shard_;
  record.grpc_code = grpc_code;
  record.kind = kind;
  record.tracestate = span.context.tracestate;
  ring_.Push(record);
}

std::string SpanJson(const SpanRecord& span, std::string_view process) {
  std::string out;
  out.reserve(512);
  out.append("{\"trace_id\":\"");
  trace_internal::AppendHex(span.trace_hi, 16, &out);
  trace_internal::AppendHex(span.trace_lo, 16, &out);
  out.append("\",\"span_id\":\"").append(Hex(span.span_id));
  out.append("\",\"parent_span_id\":\"");
  if (span.parent_span_id != 0) out.append(Hex(span.parent_span_id));
  out.append("\",\"name\":");
  std::string name(span.service);
  name.append("/").append(span.method);
  AppendJsonString(name, &out);
  out.append(",\"trace_state\":");
  AppendJsonString(span.tracestate ? std::string_view(*span.tracestate) : std::string_view(), &out);
  out.append(",\"kind\":\"").append(span.kind == SpanKind::kServer ? "server" : "client");
  out.append("\",\"process\":");
  AppendJsonString(process, &out);
  out.append(",\"service\":");
  AppendJsonString(span.service, &out);
  out.append(",\"method\":");
  AppendJsonString(span.method, &out);
  out.append(",\"shard\":").append(std::to_string(span.shard));
  out.append(",\"start\":\"").append(Rfc3339Micros(span.start_unix_nanos));
  out.append("\",\"start_unix_nano\":").append(std::to_string(span.start_unix_nanos));
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.3f", static_cast<double>(span.duration_nanos) / 1e3);
  out.append(",\"duration_us\":").append(duration);
  out.append(",\"grpc_code\":\"").append(GrpcCodeName(span.grpc_code));
  out.append("\",\"status\":\"").append(span.grpc_code == 0 ? "OK" : "ERROR");
  // OpenTelemetry's semantic conventions for RPC spans.
  out.append("\",\"attributes\":{\"rpc.system\":\"grpc\",\"rpc.service\":");
  AppendJsonString(span.service, &out);
  out.append(",\"rpc.method\":");
  AppendJsonString(span.method, &out);
  out.append(",\"rpc.grpc.status_code\":").append(std::to_string(span.grpc_code));
  out.append("}}");
  return out;
}

Tracer::Tracer(TracerOptions options, size_t shards) : options_(std::move(options)) {
  std::random_device random;
  uint64_t base =
      (static_cast<uint64_t>(random()) << 32) ^ random() ^
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  for (size_t i = 0; i < shards; ++i) {
    shards_.push_back(std::make_unique<ShardTracer>(static_cast<uint32_t>(i), options_.sample_ratio,
                                                    base + i * 0x9e37ULL));
  }
}

bool Tracer::Start(std::string* error) {
  if (options_.path == "-" || options_.path == "stderr") {
    out_ = stderr;
  } else {
    out_ = std::fopen(options_.path.c_str(), "ae");
    if (out_ == nullptr) {
      *error = "cannot open " + options_.path + ": " + std::strerror(errno);
      return false;
    }
    owns_out_ = true;
  }
  writer_ = std::thread([this] { WriterLoop(); });
  return true;
}

void Tracer::WriterLoop() {
  std::unique_lock lock(stop_mutex_);
  while (!stopping_) {
    stop_changed_.wait_for(lock, std::chrono::milliseconds(20), [this] { return stopping_; });
    lock.unlock();
    DrainOnce();
    lock.lock();
  }
}

void Tracer::DrainOnce() {
  size_t lines = 0;
  for (auto& shard : shards_) {
    lines += shard->ring().Drain([&](const SpanRecord& span) {
      line_ = SpanJson(span, options_.process);
      line_.push_back('\n');
      std::fwrite(line_.data(), 1, line_.size(), out_);
    });
  }
  if (lines > 0) {
    std::fflush(out_);
    written_.store(written_.load(std::memory_order_relaxed) + lines, std::memory_order_relaxed);
  }
}

void Tracer::Stop() {
  if (!writer_.joinable()) return;
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_changed_.notify_all();
  writer_.join();
  DrainOnce();  // what the shards ended since the writer's last turn
  if (owns_out_) std::fclose(out_);
  out_ = nullptr;
}

uint64_t Tracer::dropped() const {
  uint64_t total = 0;
  for (const auto& shard : shards_) total += shard->ring().dropped();
  return total;
}

}  // namespace percore::observe
