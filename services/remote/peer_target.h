#pragma once
// Threading contract: pure functions; any thread (PeerTarget may block in name resolution, so it
// runs at start-up, never on a shard).
//
// A peer's replicas as one gRPC target, so that one channel balances over all of them:
// "ipv4:127.0.0.1:5001,127.0.0.1:5002" (or "ipv6:[::1]:5001,..."). gRPC's static ipv4:/ipv6:
// resolvers take only numeric addresses and its dns: resolver only one name, so host names are
// resolved here, once.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace percore::remote {

// Splits "HOST:PORT" or "[IPV6]:PORT" (port 1..65535). False on anything else.
bool SplitHostPort(std::string_view address, std::string* host, int* port);

// The target for `addresses` (HOST:PORT each, at least one). On a bad address, a name that does
// not resolve, or a mix of IPv4 and IPv6, returns nullopt and sets `error` naming the address.
std::optional<std::string> PeerTarget(const std::vector<std::string>& addresses,
                                      std::string* error);

}  // namespace percore::remote
