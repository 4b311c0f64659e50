#include "tools/load/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace percore::load {

LatencyHistogram::LatencyHistogram() : counts_(kBucketCount, 0) {}

size_t LatencyHistogram::IndexOf(uint64_t micros) {
  micros = std::min(micros, kMaxMicros);
  if (micros < kSubBuckets) return micros;
  int top_bit = 63 - std::countl_zero(micros);  // >= kSubBucketBits
  int shift = top_bit - (kSubBucketBits - 1);   // leaves micros >> shift in [128, 256)
  return kSubBuckets + static_cast<size_t>(shift - 1) * kHalf + ((micros >> shift) - kHalf);
}

uint64_t LatencyHistogram::LowestMicros(size_t index) {
  if (index < kSubBuckets) return index;
  size_t k = index - kSubBuckets;
  int shift = static_cast<int>(k / kHalf) + 1;
  return (k % kHalf + kHalf) << shift;
}

uint64_t LatencyHistogram::HighestMicros(size_t index) {
  if (index < kSubBuckets) return index;
  size_t k = index - kSubBuckets;
  int shift = static_cast<int>(k / kHalf) + 1;
  return ((k % kHalf + kHalf + 1) << shift) - 1;
}

void LatencyHistogram::Record(std::chrono::nanoseconds latency) {
  int64_t ns = std::max<int64_t>(0, latency.count());
  ++counts_[IndexOf(static_cast<uint64_t>(ns) / 1000)];
  if (count_ == 0 || ns < min_ns_) min_ns_ = ns;
  max_ns_ = std::max(max_ns_, ns);
  sum_ns_ += static_cast<uint64_t>(ns);
  ++count_;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  min_ns_ = count_ == 0 ? other.min_ns_ : std::min(min_ns_, other.min_ns_);
  max_ns_ = std::max(max_ns_, other.max_ns_);
  sum_ns_ += other.sum_ns_;
  count_ += other.count_;
}

int64_t LatencyHistogram::Clamp(int64_t ns) const { return std::clamp(ns, min_ns(), max_ns_); }

int64_t LatencyHistogram::ValueAtPercentile(double percent) const {
  if (count_ == 0) return 0;
  double wanted = std::ceil(std::clamp(percent, 0.0, 100.0) / 100.0 * static_cast<double>(count_));
  uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(wanted));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen < rank) continue;
    // The last bucket also holds everything beyond it: its upper edge is the maximum.
    if (i + 1 == counts_.size()) return max_ns_;
    return Clamp(static_cast<int64_t>(HighestMicros(i) + 1) * 1000);
  }
  return max_ns_;
}

}  // namespace percore::load
