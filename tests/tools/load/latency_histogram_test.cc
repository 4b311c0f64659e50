#include "tools/load/latency_histogram.h"

#include <gtest/gtest.h>

#include <chrono>

namespace percore::load {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(LatencyHistogramTest, BucketsAreContiguousAndCoverEveryMicrosecond) {
  for (size_t i = 0; i + 1 < LatencyHistogram::kBucketCount; ++i) {
    ASSERT_EQ(LatencyHistogram::HighestMicros(i) + 1, LatencyHistogram::LowestMicros(i + 1)) << i;
  }
  EXPECT_EQ(LatencyHistogram::HighestMicros(LatencyHistogram::kBucketCount - 1),
            LatencyHistogram::kMaxMicros);
  for (uint64_t v : {0ull, 1ull, 255ull, 256ull, 257ull, 1000ull, 65535ull, 60000000ull}) {
    size_t i = LatencyHistogram::IndexOf(v);
    EXPECT_LE(LatencyHistogram::LowestMicros(i), v);
    EXPECT_GE(LatencyHistogram::HighestMicros(i), v);
  }
}

TEST(LatencyHistogramTest, ExactBelow256MicrosecondsAndWithin1Percent) {
  for (uint64_t v = 0; v < 256; ++v) {
    EXPECT_EQ(LatencyHistogram::LowestMicros(LatencyHistogram::IndexOf(v)), v);
  }
  for (uint64_t v : {300ull, 4096ull, 123456ull, 59999999ull}) {
    size_t i = LatencyHistogram::IndexOf(v);
    double width = LatencyHistogram::HighestMicros(i) - LatencyHistogram::LowestMicros(i) + 1;
    EXPECT_LE(width / static_cast<double>(v), 1.0 / 128) << v;
  }
}

TEST(LatencyHistogramTest, PercentilesOfAUniformRun) {
  LatencyHistogram h;
  for (int ms = 1; ms <= 1000; ++ms) h.Record(milliseconds(ms));
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_EQ(h.min_ns(), 1000000);
  EXPECT_EQ(h.max_ns(), 1000000000);
  EXPECT_EQ(h.mean_ns(), 500500000);
  for (double p : {10.0, 50.0, 90.0, 99.0, 99.9}) {
    double expected = p * 10e6;  // p% of 1000 ms
    EXPECT_NEAR(static_cast<double>(h.ValueAtPercentile(p)), expected, expected / 100) << p;
  }
  EXPECT_EQ(h.ValueAtPercentile(100), 1000000000);
}

TEST(LatencyHistogramTest, ClampsToExactExtremes) {
  LatencyHistogram h;
  h.Record(nanoseconds(123456));
  EXPECT_EQ(h.ValueAtPercentile(50), 123456);
  h.Record(seconds(100000));  // beyond the last bucket's lower edge: still counted
  EXPECT_EQ(h.ValueAtPercentile(100), 100000000000000);
  uint64_t seen = 0;
  h.ForEachBucket([&](int64_t value, uint64_t n) {
    EXPECT_GE(value, h.min_ns());
    EXPECT_LE(value, h.max_ns());
    seen += n;
  });
  EXPECT_EQ(seen, 2u);
}

TEST(LatencyHistogramTest, MergeAddsCountsAndExtremes) {
  LatencyHistogram a, b, empty;
  a.Record(microseconds(10));
  b.Record(microseconds(5));
  b.Record(microseconds(900));
  a.Merge(b);
  a.Merge(empty);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.min_ns(), 5000);
  EXPECT_EQ(a.max_ns(), 900000);
  empty.Merge(a);
  EXPECT_EQ(empty.min_ns(), 5000);
}

TEST(LatencyHistogramTest, EmptyReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.ValueAtPercentile(50), 0);
  EXPECT_EQ(h.min_ns(), 0);
  EXPECT_EQ(h.mean_ns(), 0);
}

}  // namespace
}  // namespace percore::load
