#pragma once
// Threading contract: pure functions (of the system clock); any thread.
//
// The wall clock orders are stamped with (created_at, updated_at), in ns since the epoch, and
// how a stamp is set (core/base/unix_time.h's SetTimestamp).

#include <chrono>
#include <cstdint>

#include "core/base/unix_time.h"

namespace percore::order {

inline int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace percore::order
