#include "services/cluster/cluster_flags.h"

#include <unistd.h>

#include <charconv>

#include "core/cluster/growth_history.h"
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

// "http://HOST:PORT" (a trailing slash allowed) -> "HOST:PORT"; nullopt if not that shape.
std::optional<std::string> EtcdEndpoint(std::string url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) return std::nullopt;
  url.erase(0, kScheme.size());
  if (!url.empty() && url.back() == '/') url.pop_back();
  std::string host;
  int port = 0;
  if (url.find('/') != std::string::npos || !remote::SplitHostPort(url, &host, &port) ||
      port <= 0) {
    return std::nullopt;
  }
  return url;
}

}  // namespace

std::optional<int> OrdinalOfHostname(std::string_view hostname) {
  size_t dash = hostname.rfind('-');
  if (dash == std::string_view::npos || dash + 1 == hostname.size()) return std::nullopt;
  std::string_view digits = hostname.substr(dash + 1);
  int ordinal = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ordinal);
  if (ec != std::errc() || end != digits.data() + digits.size() || ordinal < 0) {
    return std::nullopt;
  }
  return ordinal;
}

std::optional<bool> ParseClusterFlag(std::string_view arg,
                                     const std::function<std::optional<std::string>()>& take_value,
                                     ClusterFlags* flags, std::string* error) {
  if (arg == "--partition-from-hostname") {
    flags->partition_from_hostname = true;
    return true;
  }
  if (arg == "--grow-joining") {
    flags->grow_joining = true;
    return true;
  }
  if (arg != "--partitions" && arg != "--partition" && arg != "--members" && arg != "--etcd" &&
      arg != "--etcd-prefix" && arg != "--advertise" && arg != "--etcd-lease-ttl-seconds" &&
      arg != "--etcd-connect-timeout-seconds" && arg != "--grown") {
    return std::nullopt;
  }
  std::optional<std::string> value = take_value();
  if (!value) return false;
  if (arg == "--etcd") {
    flags->etcd.clear();
    size_t start = 0;
    for (;;) {
      size_t comma = value->find(',', start);
      std::optional<std::string> endpoint = EtcdEndpoint(value->substr(start, comma - start));
      if (!endpoint) {
        *error =
            "--etcd wants http://HOST:PORT[,http://HOST:PORT...] (etcd's client URLs), got \"" +
            *value + "\"";
        return false;
      }
      flags->etcd.push_back(std::move(*endpoint));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else if (arg == "--grown") {
    if (!ParseGrowthHistory(*value, error)) return false;
    flags->grown = *value;
  } else if (arg == "--etcd-prefix") {
    if (value->empty() || value->front() != '/' || value->back() == '/') {
      *error =
          "--etcd-prefix wants a key prefix such as /percore (a leading /, no trailing /), got \"" +
          *value + "\"";
      return false;
    }
    flags->etcd_prefix = *value;
  } else if (arg == "--advertise") {
    std::string host;
    int port = 0;
    if (!remote::SplitHostPort(*value, &host, &port) || port <= 0 || host.empty()) {
      *error =
          "--advertise wants HOST:PORT (the address other members dial), got \"" + *value + "\"";
      return false;
    }
    flags->advertise = *value;
  } else if (arg == "--etcd-lease-ttl-seconds") {
    if (!ParseCount(*value, 1, 3600, &flags->etcd_lease_ttl_seconds)) {
      *error =
          "--etcd-lease-ttl-seconds wants a whole number from 1 to 3600, got \"" + *value + "\"";
      return false;
    }
  } else if (arg == "--etcd-connect-timeout-seconds") {
    if (!ParseCount(*value, 1, 3600, &flags->etcd_connect_timeout_seconds)) {
      *error = "--etcd-connect-timeout-seconds wants a whole number from 1 to 3600, got \"" +
               *value + "\"";
      return false;
    }
  } else if (arg == "--partitions") {
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

namespace {

// The history of --grown checked against --partitions (its last count) and put in `placement`.
bool AddGrowthHistory(const ClusterFlags& flags, ClusterPlacement* placement, std::string* error) {
  if (flags.grown.empty()) return true;
  std::optional<GrowthHistory> history = ParseGrowthHistory(flags.grown, error);
  if (!history) return false;
  if (history->epochs.back().partitions != placement->partitions) {
    *error = "--grown " + flags.grown + " ends with " +
             std::to_string(history->epochs.back().partitions) + " partitions; --partitions is " +
             std::to_string(placement->partitions);
    return false;
  }
  placement->first_partitions = history->first_partitions;
  placement->grown = std::move(history->epochs);
  return true;
}

}  // namespace

std::optional<ClusterPlacement> PlacementFromFlags(const ClusterFlags& given, std::string* error) {
  ClusterFlags flags = given;
  ClusterPlacement placement;
  if (flags.partitions <= 1) {
    if (flags.partition > 0 || flags.members.size() > 1 || flags.live_membership() ||
        flags.partition_from_hostname || !flags.grown.empty() || flags.grow_joining) {
      *error =
          "--partition, --partition-from-hostname, --members, --etcd and --grown need "
          "--partitions P (P > 1)";
      return std::nullopt;
    }
    return placement;
  }
  if (flags.partition_from_hostname) {
    if (flags.partition >= 0) {
      *error = "give --partition I or --partition-from-hostname, not both";
      return std::nullopt;
    }
    char name[256] = {};
    if (gethostname(name, sizeof(name) - 1) != 0) {
      *error = "--partition-from-hostname: cannot read the host name";
      return std::nullopt;
    }
    std::optional<int> ordinal = OrdinalOfHostname(name);
    if (!ordinal) {
      *error = "--partition-from-hostname: the host name \"" + std::string(name) +
               "\" does not end in -ORDINAL (as a StatefulSet pod's does: percore-2)";
      return std::nullopt;
    }
    flags.partition = *ordinal;
  }
  if (flags.partition < 0 || flags.partition >= flags.partitions) {
    *error = "--partitions " + std::to_string(flags.partitions) +
             " needs --partition I with I from 0 to " + std::to_string(flags.partitions - 1);
    return std::nullopt;
  }
  if (flags.live_membership()) {
    if (!flags.members.empty()) {
      *error = "give --members (static membership) or --etcd (live membership), not both";
      return std::nullopt;
    }
    placement.partitions = static_cast<size_t>(flags.partitions);
    placement.self = static_cast<PartitionId>(flags.partition);
    // Known once etcd answers (services/cluster/etcd_membership.h); "" = no live member yet.
    placement.members.assign(placement.partitions, "");
    if (!AddGrowthHistory(flags, &placement, error)) return std::nullopt;
    return placement;
  }
  if (!flags.advertise.empty() || flags.etcd_prefix != ClusterFlags().etcd_prefix) {
    *error = "--advertise and --etcd-prefix need --etcd";
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
  if (!AddGrowthHistory(flags, &placement, error)) return std::nullopt;
  return placement;
}

std::string ClusterUsage() {
  return R"(  --partitions P              this process is one of P key partitions (default 1: the
                              whole data set); a call for a key another partition owns is
                              forwarded to it, one hop. With --data-dir the count, the
                              --grown history and the partition are recorded there at the
                              first start; a later start they do not explain is refused
  --partition I               the partition this process serves, 0 to P-1
  --members A,B,...           every partition's HOST:PORT (DNS names allowed), by partition
                              index; this process's own entry included
  --partition-from-hostname   take the partition from the host name's trailing ordinal (a
                              StatefulSet pod: percore-2 serves partition 2); instead of
                              --partition
  --etcd URL[,URL...]         live membership instead of --members: etcd's client URLs
                              (http://HOST:PORT); this process registers
                              PREFIX/members/<partition> = its --advertise address under a lease
                              and routes to the members registered there; a partition another
                              live process holds is refused (exit 2)
  --advertise HOST:PORT       the address other members dial to reach this one (default: the
                              --listen address with its actual port; required when --listen is
                              a wildcard such as 0.0.0.0)
  --grown P0,P1@T1[,...]      a grown cluster's placement history, as `tools/cluster grow`
                              printed it (deploy-time count, then each count and the unix ms
                              it took effect); --partitions is its last count
  --grow-joining              this partition joins a growing cluster (tools/cluster grow starts
                              it): ids and email claims refused until the tool unfreezes it
  --etcd-prefix PREFIX        the cluster's key prefix in etcd (default /percore)
  --etcd-lease-ttl-seconds N  the registration's lease: renewed every N/3 s; a member not renewed
                              for N s is dropped by the others (default 10)
  --etcd-connect-timeout-seconds N
                              give up starting if no etcd endpoint answers within N s
                              (default 10); once started, an unreachable etcd only means the
                              last known members are kept
)";
}

}  // namespace percore::cluster
