// core/observe: the histogram's bucket edges (Prometheus `le` is inclusive), the merge of the
// shards' gRPC server counters into one series per method, and the zeros every method x code
// has before its first call.

#include "core/observe/exposition.h"

#include <gtest/gtest.h>

#include <string>

#include "core/observe/grpc_server_metrics.h"
#include "core/observe/latency_histogram.h"

namespace percore::observe {
namespace {

TEST(LatencyHistogramTest, BoundsAreInclusiveAndLongCallsGoToInf) {
  LatencyHistogram h;
  h.Observe(10'000);          // exactly 10 us: le="1e-05"
  h.Observe(10'001);          // just over: le="2.5e-05"
  h.Observe(10'000'000'000);  // exactly 10 s: le="10"
  h.Observe(10'000'000'001);  // over: +Inf
  h.Observe(-5);              // a clock step back counts as zero
  EXPECT_EQ(h.bucket(0), 2u);
  EXPECT_EQ(h.bucket(1), 1u);
  EXPECT_EQ(h.bucket(LatencyHistogram::kBuckets - 2), 1u);
  EXPECT_EQ(h.bucket(LatencyHistogram::kBuckets - 1), 1u);
  EXPECT_EQ(h.sum_nanos(), 10'000u + 10'001u + 10'000'000'000u + 10'000'000'001u);
}

TEST(GrpcServerFamiliesTest, ShardsAreSummedAndEveryCodeIsThere) {
  int binding = 0;  // the key: one binding, registered on both shards
  GrpcServerShardMetrics shard0, shard1;
  MethodCounters* a = shard0.Register(&binding, {"unary", "user.v1.UserService", "GetUser"});
  MethodCounters* b = shard1.Register(&binding, {"unary", "user.v1.UserService", "GetUser"});
  EXPECT_EQ(shard0.Register(&binding, {"unary", "x", "y"}), a);  // the same counters again
  a->started.Add(2);
  a->handled[0].Add(2);
  a->handling.Observe(20'000);
  a->handling.Observe(20'000);
  b->started.Add(3);
  b->handled[5].Add(3);  // NotFound
  for (int i = 0; i < 3; ++i) b->handling.Observe(2'000'000'000);

  std::vector<prometheus::MetricFamily> families;
  AppendGrpcServerFamilies({&shard0, &shard1}, &families);
  std::string text = SerializeText(families);
  const std::string labels =
      "grpc_method=\"GetUser\",grpc_service=\"user.v1.UserService\",grpc_type=\"unary\"";
  EXPECT_NE(text.find("grpc_server_started_total{" + labels + "} 5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("grpc_server_handled_total{grpc_code=\"OK\"," + labels + "} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("grpc_server_handled_total{grpc_code=\"NotFound\"," + labels + "} 3\n"),
            std::string::npos);
  EXPECT_NE(
      text.find("grpc_server_handled_total{grpc_code=\"Unauthenticated\"," + labels + "} 0\n"),
      std::string::npos);
  EXPECT_NE(text.find("grpc_server_handling_seconds_bucket{" + labels + ",le=\"2.5e-05\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("grpc_server_handling_seconds_bucket{" + labels + ",le=\"2.5\"} 5\n"),
            std::string::npos);
  EXPECT_NE(text.find("grpc_server_handling_seconds_count{" + labels + "} 5\n"), std::string::npos);
  size_t handled_series = 0;
  for (size_t at = 0; (at = text.find("\ngrpc_server_handled_total{", at)) != std::string::npos;
       ++at) {
    ++handled_series;
  }
  EXPECT_EQ(handled_series, static_cast<size_t>(kGrpcCodeCount));  // one method, every code
}

TEST(GrpcCodeNameTest, GoNames) {
  EXPECT_EQ(GrpcCodeName(0), "OK");
  EXPECT_EQ(GrpcCodeName(1), "Canceled");  // Go's spelling
  EXPECT_EQ(GrpcCodeName(3), "InvalidArgument");
  EXPECT_EQ(GrpcCodeName(16), "Unauthenticated");
  EXPECT_EQ(GrpcCodeName(99), "Unknown");
}

}  // namespace
}  // namespace percore::observe
