#pragma once
// Threading contract: TraceContext is a value. CurrentTrace() and TraceScope touch only the
// calling thread's ambient context (a thread_local), so each shard has its own.
//
// W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` header/metadata
// value "00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>", parsed strictly (a value
// that is malformed, has an all-zero id, or version ff is refused, so the caller starts a fresh
// trace instead of echoing it), and the ambient context of the running code: the span that
// work started now belongs to. core/runtime carries it with every task and timer from where it
// was made to where it runs, so it follows a request across shards and callbacks without every
// layer passing it along. The context also carries the trace's `tracestate` (trace_state.h),
// cleaned once where it enters and shared (a pointer copy per task; nullptr when absent).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace percore::observe {

struct TraceContext {
  uint64_t trace_hi = 0;  // the 16-byte trace id, big-endian halves
  uint64_t trace_lo = 0;
  uint64_t span_id = 0;                           // the span work under this context is a child of
  uint8_t flags = 0;                              // bit 0: sampled
  std::shared_ptr<const std::string> tracestate;  // cleaned W3C tracestate; nullptr: none

  bool valid() const { return (trace_hi | trace_lo) != 0 && span_id != 0; }
  bool sampled() const { return (flags & 1) != 0; }
};

namespace trace_internal {
inline int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is not allowed by the spec
}
inline bool ParseHex(std::string_view text, uint64_t* out) {
  uint64_t value = 0;
  for (char c : text) {
    int v = HexValue(c);
    if (v < 0) return false;
    value = (value << 4) | static_cast<uint64_t>(v);
  }
  *out = value;
  return true;
}
inline void AppendHex(uint64_t value, int digits, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out->push_back(kDigits[(value >> (i * 4)) & 0xf]);
}
}  // namespace trace_internal

// nullopt when `value` is not a valid traceparent (wrong length or separators, bad or upper-case
// hex, version ff, all-zero trace or span id). A later version's value is read by the version 00
// layout, as the spec asks, when it is at least as long and continues with '-'.
inline std::optional<TraceContext> ParseTraceparent(std::string_view value) {
  using trace_internal::ParseHex;
  if (value.size() < 55) return std::nullopt;
  uint64_t version = 0;
  if (!ParseHex(value.substr(0, 2), &version) || version == 0xff) return std::nullopt;
  if (version == 0 && value.size() != 55) return std::nullopt;
  if (value.size() > 55 && value[55] != '-') return std::nullopt;
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;
  TraceContext context;
  uint64_t flags = 0;
  if (!ParseHex(value.substr(3, 16), &context.trace_hi) ||
      !ParseHex(value.substr(19, 16), &context.trace_lo) ||
      !ParseHex(value.substr(36, 16), &context.span_id) || !ParseHex(value.substr(53, 2), &flags)) {
    return std::nullopt;
  }
  context.flags = static_cast<uint8_t>(flags);
  if (!context.valid()) return std::nullopt;
  return context;
}

inline std::string FormatTraceparent(const TraceContext& context) {
  std::string out = "00-";
  out.reserve(55);
  trace_internal::AppendHex(context.trace_hi, 16, &out);
  trace_internal::AppendHex(context.trace_lo, 16, &out);
  out.push_back('-');
  trace_internal::AppendHex(context.span_id, 16, &out);
  out.push_back('-');
  trace_internal::AppendHex(context.flags & 1, 2, &out);  // only the flag defined in version 00
  return out;
}

// The running code's context (invalid when it belongs to no trace).
inline thread_local TraceContext current_trace;

inline const TraceContext& CurrentTrace() { return current_trace; }

// Makes `context` the ambient one until the scope ends, then puts back the one before.
class TraceScope {
 public:
  explicit TraceScope(const TraceContext& context) : saved_(current_trace) {
    current_trace = context;
  }
  ~TraceScope() { current_trace = saved_; }
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;

 private:
  TraceContext saved_;
};

}  // namespace percore::observe
