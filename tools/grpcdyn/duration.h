#pragma once
// Threading contract: pure functions.
//
// Durations as Go writes them (ghz and grpcurl take Go's time.ParseDuration syntax): "10s",
// "500ms", "1m30s", "1.5h", "250us"; a bare "0" is zero.

#include <chrono>
#include <string_view>

#include "tools/grpcdyn/result.h"

namespace percore::grpcdyn {

Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);

}  // namespace percore::grpcdyn
