#pragma once
// Threading contract: Observe() only from the owning thread (a shard's); the read-outs from any
// thread (OwnedCounter, owned_counter.h). A reader may see a bucket incremented before the sum,
// or the other way round: a scrape is a sample, each series is exact once the owner is idle.
//
// A latency histogram with fixed bounds fine enough for a latency-critical server: 1-2.5-5 per
// decade from 10 µs to 10 s (19 bounds, then +Inf). Buckets are stored per bound (not
// cumulative), so an observation touches one bucket and the sum; the reader accumulates.

#include <array>
#include <cstdint>

#include "core/observe/owned_counter.h"

namespace percore::observe {

class LatencyHistogram {
 public:
  static constexpr std::array<int64_t, 19> kBoundsNanos = {
      10'000,        25'000,        50'000,        100'000,       250'000,
      500'000,       1'000'000,     2'500'000,     5'000'000,     10'000'000,
      25'000'000,    50'000'000,    100'000'000,   250'000'000,   500'000'000,
      1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};
  static constexpr size_t kBuckets = kBoundsNanos.size() + 1;  // the last one is +Inf

  void Observe(int64_t nanos) {
    size_t i = 0;
    while (i < kBoundsNanos.size() && nanos > kBoundsNanos[i]) ++i;  // fast calls stop at once
    buckets_[i].Add();
    sum_nanos_.Add(static_cast<uint64_t>(nanos < 0 ? 0 : nanos));
  }

  uint64_t bucket(size_t i) const { return buckets_[i].value(); }  // not cumulative
  uint64_t sum_nanos() const { return sum_nanos_.value(); }

 private:
  std::array<OwnedCounter, kBuckets> buckets_;
  OwnedCounter sum_nanos_;
};

}  // namespace percore::observe
