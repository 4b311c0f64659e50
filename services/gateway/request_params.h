#pragma once
// Threading contract: pure functions, callable from any thread.
//
// What the gateway reads off an HTTP request besides its body: the query string as parameters,
// the call's deadline from Grpc-Timeout / X-Request-Timeout, and whether the body is JSON.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/http/http_server.h"
#include "services/gateway/json_codec.h"

namespace percore::gateway {

// "a=1&b=2" into parameters, percent-decoded; `skip` names a parameter left out. False (with
// `error`) on a bad escape.
bool ParseQuery(std::string_view query, Params& params, std::string* error,
                std::string_view skip = {});

// How long a REST call may take: `Grpc-Timeout` (gRPC's form, "500m", "2S") or
// `X-Request-Timeout` (seconds, "2.5"), at most `cap`; `cap` without either. False with `error`
// naming the header when its value is malformed.
bool RequestTimeout(const http::Request& request, std::chrono::nanoseconds cap,
                    std::chrono::nanoseconds* timeout, std::string* error);

// application/json, application/grpc-web+json or any +json type.
bool IsJson(std::optional<std::string_view> content_type);

}  // namespace percore::gateway
