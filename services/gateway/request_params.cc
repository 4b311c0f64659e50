#include "services/gateway/request_params.h"

#include <algorithm>
#include <cstdlib>

#include "core/net/grpc_wire.h"

namespace percore::gateway {

bool ParseQuery(std::string_view query, Params& params, std::string* error, std::string_view skip) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string name;
    std::string value;
    if (!PercentDecode(pair.substr(0, eq), name) ||
        !PercentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1),
                       value)) {
      *error = "bad percent-encoding in the query parameter \"" + std::string(pair) + "\"";
      return false;
    }
    if (!skip.empty() && name == skip) continue;
    params.emplace_back(std::move(name), std::move(value));
  }
  return true;
}

// How long a REST call may take: `Grpc-Timeout` (gRPC's form, "500m", "2S") or
// `X-Request-Timeout` (seconds, "2.5"), at most `cap`; `cap` without either. False with `error`
// naming the header when its value is malformed.
bool RequestTimeout(const http::Request& request, std::chrono::nanoseconds cap,
                    std::chrono::nanoseconds* timeout, std::string* error) {
  *timeout = cap;
  if (auto value = request.header("grpc-timeout")) {
    std::optional<std::chrono::nanoseconds> parsed = net::ParseGrpcTimeout(*value);
    if (!parsed) {
      *error = "bad Grpc-Timeout \"" + std::string(*value) +
               "\": expected 1 to 8 digits and a unit (H, M, S, m, u, n)";
      return false;
    }
    *timeout = std::min(*parsed, cap);
  }
  if (auto value = request.header("x-request-timeout")) {
    std::string text(*value);
    char* end = nullptr;
    double seconds = text.empty() ? -1 : std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !(seconds >= 0) || seconds > 1e9) {
      *error = "bad X-Request-Timeout \"" + text + "\": expected seconds (e.g. 2.5)";
      return false;
    }
    *timeout = std::min(*timeout, std::chrono::nanoseconds(static_cast<int64_t>(seconds * 1e9)));
  }
  return true;
}

bool IsJson(std::optional<std::string_view> content_type) {
  if (!content_type) return false;
  std::string_view type = content_type->substr(0, content_type->find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  return type == "application/json" || type == "application/grpc-web+json" ||
         (type.size() > 5 && type.substr(type.size() - 5) == "+json");
}

}  // namespace percore::gateway
