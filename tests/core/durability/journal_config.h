#pragma once
// Threading contract: plain functions and constants, used by one test thread.
//
// The journal configuration the services' recovery tests share (payment, inventory): the test's
// directory and no idempotency retention unless a test asks for some (most records there carry
// no times, so any retention would drop them), and an hour in record-time nanoseconds.

#include <chrono>
#include <cstdint>

#include "core/durability/durability_config.h"
#include "tests/core/durability/temp_dir.h"

namespace percore::testing {

inline constexpr int64_t kHourNanos = int64_t{3600} * 1'000'000'000;

inline durability::DurabilityConfig JournalConfig(
    const TempDir& dir, std::chrono::seconds retention = std::chrono::seconds(0),
    durability::FsyncPolicy fsync = durability::FsyncPolicy::kEverySec) {
  durability::DurabilityConfig config;
  config.data_dir = dir.path();
  config.idempotency_retention = retention;
  config.fsync = fsync;
  return config;
}

}  // namespace percore::testing
