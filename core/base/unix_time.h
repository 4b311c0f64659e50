#pragma once
// Threading contract: pure functions; any thread.
//
// A wall-clock time as nanoseconds since the Unix epoch (how the stores take `now`), written into
// a google.protobuf.Timestamp in place: the value TimeUtil::NanosecondsToTimestamp gives (nanos in
// [0, 1e9), the seconds one lower for a negative time) without building, assigning and
// destroying a temporary message — records are stamped at every transition. A template over the
// message type, so core/base includes no protobuf.

#include <cstdint>

namespace percore {

template <class TimestampMessage>
void SetTimestamp(TimestampMessage* to, int64_t unix_nanos) {
  constexpr int64_t kNanosPerSecond = 1'000'000'000;
  int64_t seconds = unix_nanos / kNanosPerSecond;
  int64_t nanos = unix_nanos % kNanosPerSecond;
  if (nanos < 0) {
    --seconds;
    nanos += kNanosPerSecond;
  }
  to->set_seconds(seconds);
  to->set_nanos(static_cast<int32_t>(nanos));
}

}  // namespace percore
