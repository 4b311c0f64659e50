#pragma once
// Threading contract: a plain value (copied into each shard's cache and into a call).
//
// Who a verified token says the caller is: the subject (`sub`), the roles (`roles`, or the
// space-separated `scope`), and until when the token may be used.

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace percore::auth {

struct Principal {
  std::string subject;
  std::vector<std::string> roles;
  std::chrono::system_clock::time_point expires_at;  // exp plus the leeway

  // A plain loop: inlined where the auth chain asks on every call (std::find was an unrolled
  // out-of-line call, ~45 instructions for one role).
  bool HasRole(std::string_view role) const {
    for (const std::string& each : roles) {
      if (each == role) return true;
    }
    return false;
  }
};

}  // namespace percore::auth
