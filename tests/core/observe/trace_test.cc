// core/observe tracing: traceparent parsing against the W3C rules (malformed values refused, so
// a caller's garbage is never echoed), formatting, sampling (the parent's flag, else the ratio),
// the span ring's bound, and the JSON line of a span.

#include <gtest/gtest.h>

#include <string>

#include "core/observe/span_ring.h"
#include "core/observe/trace_context.h"
#include "core/observe/tracer.h"

namespace percore::observe {
namespace {

constexpr const char* kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceparentTest, ValidValueRoundTrips) {
  std::optional<TraceContext> context = ParseTraceparent(kValid);
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->trace_hi, 0x4bf92f3577b34da6ULL);
  EXPECT_EQ(context->trace_lo, 0xa3ce929d0e0e4736ULL);
  EXPECT_EQ(context->span_id, 0x00f067aa0ba902b7ULL);
  EXPECT_TRUE(context->sampled());
  EXPECT_EQ(FormatTraceparent(*context), kValid);
}

TEST(TraceparentTest, MalformedValuesAreRefused) {
  for (const char* bad : {
           "",
           "00",
           "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",     // short trace id
           "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",   // long trace id
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero span id
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // upper case
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",    // not hex
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // 00 with more
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // separator
           "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",   // later version, no '-'
           "-------------------------------------------------------",
       }) {
    EXPECT_FALSE(ParseTraceparent(bad).has_value()) << bad;
  }
}

TEST(TraceparentTest, LaterVersionIsReadByTheVersion00Layout) {
  std::optional<TraceContext> context =
      ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next");
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->span_id, 0x00f067aa0ba902b7ULL);
}

TEST(TraceScopeTest, RestoresTheContextBefore) {
  TraceContext outer{1, 2, 3, 1};
  TraceScope a(outer);
  {
    TraceScope b(TraceContext{4, 5, 6, 0});
    EXPECT_EQ(CurrentTrace().span_id, 6u);
  }
  EXPECT_EQ(CurrentTrace().span_id, 3u);
}

TEST(ShardTracerTest, ChildKeepsTraceAndParentsSamplingDecision) {
  ShardTracer tracer(0, /*sample_ratio=*/0, /*seed=*/1);
  TraceContext parent = *ParseTraceparent(kValid);
  OpenSpan child = tracer.Begin(parent);
  EXPECT_EQ(child.context.trace_hi, parent.trace_hi);
  EXPECT_EQ(child.context.trace_lo, parent.trace_lo);
  EXPECT_EQ(child.parent_span_id, parent.span_id);
  EXPECT_NE(child.context.span_id, parent.span_id);
  EXPECT_TRUE(child.context.sampled());  // the parent's flag, though the ratio is 0
  tracer.End(child, SpanKind::kServer, "a.B", "C", 0);
  size_t seen = tracer.ring().Drain([&](const SpanRecord& span) {
    EXPECT_EQ(span.parent_span_id, parent.span_id);
    EXPECT_EQ(span.method, "C");
  });
  EXPECT_EQ(seen, 1u);
}

TEST(ShardTracerTest, NewTracesFollowTheRatio) {
  ShardTracer never(0, 0, 7);
  ShardTracer always(0, 1, 7);
  ShardTracer half(0, 0.5, 7);
  int sampled = 0;
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(never.Begin(TraceContext()).context.sampled());
    EXPECT_TRUE(always.Begin(TraceContext()).context.sampled());
    OpenSpan root = half.Begin(TraceContext());
    EXPECT_TRUE(root.context.valid());
    EXPECT_EQ(root.parent_span_id, 0u);
    sampled += root.context.sampled() ? 1 : 0;
  }
  EXPECT_GT(sampled, 350);
  EXPECT_LT(sampled, 650);
  // Unsampled spans are not written.
  never.End(never.Begin(TraceContext()), SpanKind::kClient, "a.B", "C", 0);
  EXPECT_EQ(never.ring().Drain([](const SpanRecord&) {}), 0u);
}

TEST(SpanRingTest, FullRingDropsAndCounts) {
  auto ring = std::make_unique<SpanRing>();
  for (size_t i = 0; i < SpanRing::kCapacity; ++i) EXPECT_TRUE(ring->Push(SpanRecord()));
  EXPECT_FALSE(ring->Push(SpanRecord()));
  EXPECT_EQ(ring->dropped(), 1u);
  EXPECT_EQ(ring->Drain([](const SpanRecord&) {}), SpanRing::kCapacity);
  EXPECT_TRUE(ring->Push(SpanRecord()));
}

TEST(SpanJsonTest, OneLineWithTheRpcAttributes) {
  SpanRecord span;
  span.trace_hi = 0x4bf92f3577b34da6ULL;
  span.trace_lo = 0xa3ce929d0e0e4736ULL;
  span.span_id = 0xabc;
  span.parent_span_id = 0;
  span.start_unix_nanos = 1'700'000'000'123'456'789;
  span.duration_nanos = 1500;
  span.service = "user.v1.UserService";
  span.method = "GetUser";
  span.shard = 3;
  span.grpc_code = 5;
  span.kind = SpanKind::kClient;
  std::string line = SpanJson(span, "order \"x\"");
  EXPECT_EQ(line.find('\n'), std::string::npos);
  for (const char* part :
       {"\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"", "\"span_id\":\"0000000000000abc\"",
        "\"parent_span_id\":\"\"", "\"name\":\"user.v1.UserService/GetUser\"",
        "\"kind\":\"client\"", "\"process\":\"order \\\"x\\\"\"", "\"shard\":3",
        "\"start\":\"2023-11-14T22:13:20.123456Z\"", "\"duration_us\":1.500",
        "\"grpc_code\":\"NotFound\"", "\"status\":\"ERROR\"", "\"rpc.system\":\"grpc\"",
        "\"rpc.grpc.status_code\":5"}) {
    EXPECT_NE(line.find(part), std::string::npos) << part << " in " << line;
  }
}

}  // namespace
}  // namespace percore::observe
