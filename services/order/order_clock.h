#pragma once
// Threading contract: a pure function of the system clock; any thread.
//
// The wall clock orders are stamped with (created_at, updated_at), in ns since the epoch.

#include <chrono>
#include <cstdint>

namespace percore::order {

inline int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace percore::order
