#include "services/remote/peer_target.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <charconv>

namespace percore::remote {
namespace {

enum class Family { kV4, kV6 };

// Numeric form of `host` (resolving a name); nullopt if it does not resolve.
std::optional<std::pair<Family, std::string>> NumericHost(const std::string& host) {
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return std::pair(Family::kV4, host);
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return std::pair(Family::kV6, host);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  // IPv4 first: "localhost" then means 127.0.0.1, where servers listen by default.
  std::optional<std::pair<Family, std::string>> result;
  for (int want : {AF_INET, AF_INET6}) {
    for (addrinfo* a = found; a != nullptr && !result; a = a->ai_next) {
      if (a->ai_family != want) continue;
      char text[INET6_ADDRSTRLEN] = {};
      const void* raw =
          want == AF_INET
              ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
      if (inet_ntop(want, raw, text, sizeof(text)) != nullptr) {
        result = std::pair(want == AF_INET ? Family::kV4 : Family::kV6, std::string(text));
      }
    }
    if (result) break;
  }
  freeaddrinfo(found);
  return result;
}

}  // namespace

bool SplitHostPort(std::string_view address, std::string* host, int* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view host_part = address.substr(0, colon);
  std::string_view port_part = address.substr(colon + 1);
  if (host_part.front() == '[') {
    if (host_part.size() < 3 || host_part.back() != ']') return false;
    host_part = host_part.substr(1, host_part.size() - 2);
  } else if (host_part.find(':') != std::string_view::npos) {
    return false;  // an IPv6 address needs its brackets
  }
  int value = 0;
  auto [end, ec] = std::from_chars(port_part.data(), port_part.data() + port_part.size(), value);
  if (port_part.empty() || ec != std::errc() || end != port_part.data() + port_part.size() ||
      value < 1 || value > 65535) {
    return false;
  }
  *host = std::string(host_part);
  *port = value;
  return true;
}

std::optional<std::string> PeerTarget(const std::vector<std::string>& addresses,
                                      std::string* error) {
  if (addresses.empty()) {
    *error = "no address given";
    return std::nullopt;
  }
  std::optional<Family> family;
  std::string list;
  for (const std::string& address : addresses) {
    std::string host;
    int port = 0;
    if (!SplitHostPort(address, &host, &port)) {
      *error = "\"" + address + "\" is not HOST:PORT";
      return std::nullopt;
    }
    auto numeric = NumericHost(host);
    if (!numeric) {
      *error = "cannot resolve \"" + host + "\" in \"" + address + "\"";
      return std::nullopt;
    }
    if (family && *family != numeric->first) {
      *error = "\"" + address + "\" mixes IPv4 and IPv6 replicas (use one family)";
      return std::nullopt;
    }
    family = numeric->first;
    if (!list.empty()) list += ',';
    // Appended piecewise: GCC 12 warns (-Wrestrict, a false positive) on "[" + host + "]".
    if (numeric->first == Family::kV6) list += '[';
    list += numeric->second;
    if (numeric->first == Family::kV6) list += ']';
    list += ':';
    list += std::to_string(port);
  }
  return (*family == Family::kV4 ? "ipv4:" : "ipv6:") + list;
}

}  // namespace percore::remote
