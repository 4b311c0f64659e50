#pragma once
// Threading contract: a pure function of the system clock; any thread.
//
// The wall clock of the inventory service: the stores take the time as an argument (`now`, ns
// since the epoch), and the service API reads it here, so the stores are tested with any time.
// core/base/unix_time.h's SetTimestamp writes such a time into a record's Timestamp field.

#include <chrono>
#include <cstdint>

#include "core/base/unix_time.h"

namespace percore::inventory::internal {

inline int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace percore::inventory::internal
