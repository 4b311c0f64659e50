#pragma once
// Threading contract: pure functions, any thread.
//
// How a gRPC status reaches an HTTP client: grpc-gateway's table for the HTTP status
// (runtime/errors.go HTTPStatusFromCode), its error body {"code":N,"message":"...","details":[]},
// and, for WebSockets, a close code: 1000 for OK, 4000 + the gRPC code otherwise (4000-4999 are
// the application's range in RFC 6455), the status message as the close reason.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/base/status.h"

namespace percore::gateway {

int HttpStatusOf(StatusCode code);
// {"code":N,"message":"...","details":[]}, with `message` escaped as a JSON string
// (observe::AppendJsonString, core/observe/json_text.h).
std::string ErrorBody(StatusCode code, std::string_view message);
uint16_t CloseCodeOf(StatusCode code);
// The gRPC code an HTTP error the gateway answers itself stands for (404 NOT_FOUND, ...).
StatusCode CodeOfHttpStatus(int http_status);

}  // namespace percore::gateway
