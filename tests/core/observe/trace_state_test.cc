// core/observe tracestate: the W3C list cleaned, never echoed blindly (invalid members, repeats
// and members past 32 dropped, the list cut to 512 characters), and carried by a child span.

#include "core/observe/trace_state.h"

#include <gtest/gtest.h>

#include <string>

#include "core/observe/tracer.h"

namespace percore::observe {
namespace {

TEST(TracestateTest, ValidMembersAreKeptInOrder) {
  EXPECT_EQ(SanitizeTracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  EXPECT_EQ(SanitizeTracestate(" a=1 ,\t b=x y ,, tenant@sys=v"), "a=1,b=x y,tenant@sys=v");
  EXPECT_EQ(SanitizeTracestate("0t@s=v"), "0t@s=v");  // a tenant id may start with a digit
}

TEST(TracestateTest, InvalidMembersAndRepeatsAreDropped) {
  EXPECT_EQ(SanitizeTracestate("Up=1,a=1,=x,b,c=,d=x=y,e=\x01,a=2,1k=v,t@=v,@s=v,t@S=v,f=ok"),
            "a=1,f=ok");
  EXPECT_EQ(SanitizeTracestate("k=" + std::string(257, 'v')), "");
  EXPECT_EQ(SanitizeTracestate("k=" + std::string(256, 'v')), "k=" + std::string(256, 'v'));
  EXPECT_EQ(SanitizeTracestate(std::string(257, 'k') + "=v"), "");
  EXPECT_EQ(SanitizeTracestate(""), "");
  EXPECT_EQ(TracestateFrom("X=1"), nullptr);
}

TEST(TracestateTest, AtMost32MembersAnd512Characters) {
  std::string many;
  std::string first32;
  for (int i = 0; i < 40; ++i) {
    std::string member = "k" + std::to_string(i) + "=v";
    many += (i ? "," : "") + member;
    if (i < 32) first32 += (i ? "," : "") + member;
  }
  EXPECT_EQ(SanitizeTracestate(many), first32);
  std::string x(250, 'x');  // members of 252 characters: two fit in 512 (with the comma)
  EXPECT_EQ(SanitizeTracestate("a=" + x + ",b=" + x + ",c=" + x), "a=" + x + ",b=" + x);
}

TEST(TracestateTest, AChildSpanCarriesItAndANewTraceHasNone) {
  ShardTracer tracer(0, 1.0, 42);
  TraceContext parent;
  parent.trace_hi = 1;
  parent.span_id = 2;
  parent.flags = 1;
  parent.tracestate = TracestateFrom("a=1");
  OpenSpan child = tracer.Begin(parent);
  ASSERT_NE(child.context.tracestate, nullptr);
  EXPECT_EQ(*child.context.tracestate, "a=1");
  EXPECT_EQ(tracer.Begin(TraceContext()).context.tracestate, nullptr);
  tracer.End(child, SpanKind::kServer, "s", "m", 0);
  std::string line;
  tracer.ring().Drain([&](const SpanRecord& span) { line = SpanJson(span, "p"); });
  EXPECT_NE(line.find("\"trace_state\":\"a=1\""), std::string::npos) << line;
}

}  // namespace
}  // namespace percore::observe
