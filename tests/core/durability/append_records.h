#pragma once
// Threading contract: used by one test thread.
//
// Writes log records straight into a store's live generation, as a shard's log would have
// before a crash, so recovery can be tested on exact files without a server.

#include <gtest/gtest.h>
#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/durability/log_file.h"
#include "core/durability/log_format.h"

namespace percore::testing {

using Records = std::vector<std::pair<uint32_t, std::string>>;

inline void AppendRecords(durability::LogFile& log, const Records& records) {
  std::string bytes;
  for (const auto& [type, payload] : records) durability::AppendRecord(type, payload, bytes);
  struct iovec buffer {
    bytes.data(), bytes.size()
  };
  ASSERT_TRUE(log.Append(&buffer, 1).ok());
  ASSERT_TRUE(log.Sync().ok());
}

}  // namespace percore::testing
