#include "services/gateway/edge_trace.h"

#include <chrono>
#include <random>

#include "core/observe/trace_state.h"

namespace percore::gateway {

EdgeTrace::EdgeTrace() {
  std::random_device random;
  state_ = (static_cast<uint64_t>(random()) << 32) ^ random() ^
           static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

uint64_t EdgeTrace::Next() {
  uint64_t value = 0;
  while (value == 0) {  // splitmix64, as the shards' tracers draw their ids
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    value = z ^ (z >> 31);
  }
  return value;
}

observe::TraceContext EdgeTrace::For(std::optional<std::string_view> traceparent,
                                     std::optional<std::string_view> tracestate) {
  observe::TraceContext context;
  if (traceparent) context = observe::ParseTraceparent(*traceparent).value_or(context);
  if (context.valid()) {
    // W3C: a tracestate is read only beside a valid traceparent, and cleaned (trace_state.h).
    if (tracestate) context.tracestate = observe::TracestateFrom(*tracestate);
  } else {
    context = observe::TraceContext();
    context.trace_hi = Next();
    context.trace_lo = Next();
  }
  context.span_id = Next();
  return context;
}

void AddTraceHeaders(const observe::TraceContext& context, http::Response& response) {
  if (!context.valid()) return;
  response.headers.emplace_back("traceparent", observe::FormatTraceparent(context));
  if (context.tracestate) response.headers.emplace_back("tracestate", *context.tracestate);
}

}  // namespace percore::gateway
