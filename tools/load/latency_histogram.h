#pragma once
// Threading contract: single-threaded; each load worker records into its own histogram, and
// the runner merges them after the workers have joined.
//
// An HDR-style latency histogram in constant memory (3840 counters, 30 KiB), so a run of any
// length or rate costs the same and percentiles need no stored samples. Values are whole
// microseconds in log-linear buckets: every microsecond below 256 us has its own bucket; above
// that each power of two is split into 128 buckets, so a value is known to within 1/128
// (0.8%), up to 2^36 us (19 hours); larger values land in the last bucket. Exact minimum,
// maximum and sum are kept beside the buckets.

#include <chrono>
#include <cstdint>
#include <vector>

namespace percore::load {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 8;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;  // 256
  static constexpr uint64_t kHalf = kSubBuckets / 2;                      // 128
  static constexpr int kMaxBits = 36;
  static constexpr uint64_t kMaxMicros = (uint64_t{1} << kMaxBits) - 1;
  static constexpr size_t kBucketCount = kSubBuckets + (kMaxBits - kSubBucketBits) * kHalf;

  LatencyHistogram();

  void Record(std::chrono::nanoseconds latency);
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  int64_t min_ns() const { return count_ ? min_ns_ : 0; }
  int64_t max_ns() const { return max_ns_; }
  int64_t mean_ns() const { return count_ ? static_cast<int64_t>(sum_ns_ / count_) : 0; }

  // The latency that `percent` % of the recorded values do not exceed: the upper edge of the
  // bucket holding that rank, clamped to the exact minimum and maximum. 0 when empty.
  int64_t ValueAtPercentile(double percent) const;

  // Calls fn(representative_ns, count) for each non-empty bucket in increasing order; the
  // representative is the bucket's midpoint, clamped to the exact minimum and maximum.
  template <class Fn>
  void ForEachBucket(Fn fn) const {
    for (size_t i = 0; i < counts_.size(); ++i) {
      if (counts_[i] == 0) continue;
      int64_t mid = static_cast<int64_t>(LowestMicros(i) + HighestMicros(i) + 1) * 500;
      fn(Clamp(mid), counts_[i]);
    }
  }

  // Bucket arithmetic, public for tests of the layout.
  static size_t IndexOf(uint64_t micros);
  static uint64_t LowestMicros(size_t index);
  static uint64_t HighestMicros(size_t index);

 private:
  int64_t Clamp(int64_t ns) const;

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  int64_t min_ns_ = 0;
  int64_t max_ns_ = 0;
  // 128 bits: a day of calls at a million per second, each a second long, still adds up.
  unsigned __int128 sum_ns_ = 0;
};

}  // namespace percore::load
