#pragma once
// Threading contract: plain values and pure functions; any thread.
//
// When a logged write counts as durable (Redis's appendfsync, with its meanings):
//   kAlways:   after an fsync covering its record (group commit: one fsync for every record a
//              shard handed over since the last one);
//   kEverySec: after the record is written to the file (the kernel has it, so a killed process
//              loses nothing); fsync at least once a second, so a power loss costs at most ~1 s;
//   kNo:       after the write as well; fsync left to the kernel (and to a clean shutdown).

#include <optional>
#include <string_view>

namespace percore::durability {

enum class FsyncPolicy { kAlways, kEverySec, kNo };

constexpr std::optional<FsyncPolicy> ParseFsyncPolicy(std::string_view text) {
  if (text == "always") return FsyncPolicy::kAlways;
  if (text == "everysec") return FsyncPolicy::kEverySec;
  if (text == "no") return FsyncPolicy::kNo;
  return std::nullopt;
}

constexpr std::string_view FsyncPolicyName(FsyncPolicy policy) {
  switch (policy) {
    case FsyncPolicy::kAlways:
      return "always";
    case FsyncPolicy::kEverySec:
      return "everysec";
    case FsyncPolicy::kNo:
      return "no";
  }
  return "?";
}

}  // namespace percore::durability
