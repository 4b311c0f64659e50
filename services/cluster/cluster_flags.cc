#include "services/cluster/cluster_flags.h"

#include <charconv>

#include "services/remote/peer_target.h"

namespace percore::cluster {
namespace {

bool ParseCount(const std::string& text, long long low, long long high, int* out) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < low || value > high) {
    return false;
  }
  *out = static_cast<int>(value);
  return true;
}

}  // namespace

std::optional<bool> ParseClusterFlag(std::string_view arg,
                                     const std::function<std::optional<std::string>()>& take_value,
                                     ClusterFlags* flags, std::string* error) {
  if (arg != "--partitions" && arg != "--partition" && arg != "--members") return std::nullopt;
  std::optional<std::string> value = take_value();
  if (!value) return false;
  if (arg == "--partitions") {
    if (!ParseCount(*value, 1, 1024, &flags->partitions)) {
      *error = "--partitions wants a whole number from 1 to 1024, got \"" + *value + "\"";
      return false;
    }
  } else if (arg == "--partition") {
    if (!ParseCount(*value, 0, 1023, &flags->partition)) {
      *error = "--partition wants a whole number from 0 to 1023, got \"" + *value + "\"";
      return false;
    }
  } else {
    flags->members.clear();
    size_t start = 0;
    for (;;) {
      size_t comma = value->find(',', start);
      std::string member = value->substr(start, comma - start);
      std::string host;
      int port = 0;
      if (!remote::SplitHostPort(member, &host, &port) || port <= 0) {
        *error = "--members wants HOST:PORT,HOST:PORT,... (one per partition), got \"" + member +
                 "\" in \"" + *value + "\"";
        return false;
      }
      flags->members.push_back(std::move(member));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return true;
}

std::optional<ClusterPlacement> PlacementFromFlags(const ClusterFlags& flags, std::string* error) {
  ClusterPlacement placement;
  if (flags.partitions <= 1) {
    if (flags.partition > 0 || flags.members.size() > 1) {
      *error = "--partition and --members need --partitions P (P > 1)";
      return std::nullopt;
    }
    return placement;
  }
  if (flags.partition < 0 || flags.partition >= flags.partitions) {
    *error = "--partitions " + std::to_string(flags.partitions) +
             " needs --partition I with I from 0 to " + std::to_string(flags.partitions - 1);
    return std::nullopt;
  }
  if (flags.members.size() != static_cast<size_t>(flags.partitions)) {
    *error = "--members lists " + std::to_string(flags.members.size()) +
             " addresses; --partitions " + std::to_string(flags.partitions) +
             " wants one per partition (index = partition)";
    return std::nullopt;
  }
  placement.partitions = static_cast<size_t>(flags.partitions);
  placement.self = static_cast<PartitionId>(flags.partition);
  placement.members = flags.members;
  return placement;
}

std::string ClusterUsage() {
  return R"(  --partitions P              this process is one of P key partitions (default 1: the
                              whole data set); a call for a key another partition owns is
                              forwarded to it, one hop
  --partition I               the partition this process serves, 0 to P-1
  --members A,B,...           every partition's HOST:PORT (DNS names allowed), by partition
                              index; this process's own entry included
)";
}

}  // namespace percore::cluster
