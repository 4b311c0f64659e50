#pragma once
// Threading contract: an EdgeTrace is used by one thread only, the gateway's io thread (its
// random state is its own); AddTraceHeaders is a pure function, any thread.
//
// The trace context an HTTP answer names (issue 12: `traceparent`/`tracestate` "returned in
// the response metadata", as the gRPC side returns them from CallCore::BeginSpan). When a call
// ran under a span (the hosted method's server span, or the client span of a --peer call, with
// --trace-log), the answer names that span (GatewayCall keeps it). Otherwise (the gateway's own
// errors, a call refused before any span, or no --trace-log) it names the edge's context made
// here: the request's `traceparent` when it parses (core/observe's strict parser: same trace id
// and sampled flag, a new span id for this server's part, the cleaned `tracestate`), else a new
// trace (not sampled: nothing recorded it); a malformed value is never echoed.

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/http/http_server.h"
#include "core/observe/trace_context.h"

namespace percore::gateway {

class EdgeTrace {
 public:
  EdgeTrace();  // seeded from std::random_device

  // The edge's context for a request carrying these headers (absent: nullopt).
  observe::TraceContext For(std::optional<std::string_view> traceparent,
                            std::optional<std::string_view> tracestate);

 private:
  uint64_t Next();  // never 0

  uint64_t state_;
};

// Adds `traceparent` (and `tracestate` when the context has one) to `response`; nothing for an
// invalid context.
void AddTraceHeaders(const observe::TraceContext& context, http::Response& response);

}  // namespace percore::gateway
