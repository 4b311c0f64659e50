#pragma once
// Threading contract: pure functions (of the system clock); any thread.
//
// The wall clock orders are stamped with (created_at, updated_at), in ns since the epoch, and
// how a stamp is set.

#include <google/protobuf/timestamp.pb.h>

#include <chrono>
#include <cstdint>

namespace percore::order {

inline int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// `*at` set to `unix_nanos`, as *at = TimeUtil::NanosecondsToTimestamp(unix_nanos) would, in
// place (no temporary message: an order's timestamps are set at every transition).
inline void SetTimestamp(int64_t unix_nanos, google::protobuf::Timestamp* at) {
  constexpr int64_t kNanosPerSecond = 1'000'000'000;
  int64_t seconds = unix_nanos / kNanosPerSecond;
  int64_t nanos = unix_nanos % kNanosPerSecond;
  if (nanos < 0) {  // the nanos of a Timestamp are never negative
    nanos += kNanosPerSecond;
    --seconds;
  }
  at->set_seconds(seconds);
  at->set_nanos(static_cast<int32_t>(nanos));
}

}  // namespace percore::order
