#include "core/durability/snapshot_policy.h"

#include <cctype>
#include <limits>

namespace percore::durability {

Result<SnapshotPolicy> ParseSnapshotEvery(const std::string& text) {
  SnapshotPolicy policy;
  if (text == "0" || text == "off") return policy;
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  auto invalid = [&] {
    return Status(StatusCode::kInvalidArgument,
                  "--snapshot-every: \"" + text +
                      "\" is not a size (e.g. 64MiB, 4096) or a time (e.g. 30s, 500ms), or 0");
  };
  if (digits == 0 || digits > 12) return invalid();
  const uint64_t value = std::stoull(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  if (value == 0) return invalid();
  if (unit.empty() || unit == "B") {
    policy.every_bytes = value;
  } else if (unit == "KiB") {
    policy.every_bytes = value << 10;
  } else if (unit == "MiB") {
    policy.every_bytes = value << 20;
  } else if (unit == "GiB") {
    policy.every_bytes = value << 30;
  } else if (unit == "s") {
    policy.every = std::chrono::seconds(value);
  } else if (unit == "ms") {
    policy.every = std::chrono::milliseconds(value);
  } else {
    return invalid();
  }
  return policy;
}

}  // namespace percore::durability
