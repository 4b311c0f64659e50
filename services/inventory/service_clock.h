#pragma once
// Threading contract: a pure function of the system clock; any thread.
//
// The wall clock of the inventory service: the stores take the time as an argument (`now`, ns
// since the epoch), and the service API reads it here, so the stores are tested with any time.
// SetTimestamp writes such a time into a record's Timestamp field.

#include <google/protobuf/timestamp.pb.h>

#include <chrono>
#include <cstdint>

namespace percore::inventory::internal {

inline int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// *to = TimeUtil::NanosecondsToTimestamp(nanos) (the same normalized value: nanos in
// [0, 1e9)), set in place: no Timestamp built, assigned and destroyed (6 per order).
inline void SetTimestamp(google::protobuf::Timestamp* to, int64_t nanos) {
  constexpr int64_t kNanosPerSecond = 1'000'000'000;
  int64_t seconds = nanos / kNanosPerSecond;
  int64_t rest = nanos % kNanosPerSecond;
  if (rest < 0) {
    --seconds;
    rest += kNanosPerSecond;
  }
  to->set_seconds(seconds);
  to->set_nanos(static_cast<int32_t>(rest));
}

}  // namespace percore::inventory::internal
