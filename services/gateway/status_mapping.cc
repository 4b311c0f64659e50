#include "services/gateway/status_mapping.h"

#include "core/observe/json_text.h"

namespace percore::gateway {

int HttpStatusOf(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kCancelled:
      return 499;
    case StatusCode::kInvalidArgument:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kOutOfRange:
      return 400;
    case StatusCode::kDeadlineExceeded:
      return 504;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kAborted:
      return 409;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kUnimplemented:
      return 501;
    case StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

StatusCode CodeOfHttpStatus(int http_status) {
  switch (http_status) {
    case 400:
      return StatusCode::kInvalidArgument;
    case 401:
      return StatusCode::kUnauthenticated;
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kNotFound;
    case 405:
    case 501:
      return StatusCode::kUnimplemented;
    case 409:
      return StatusCode::kAlreadyExists;
    case 413:
    case 431:
    case 429:
      return StatusCode::kResourceExhausted;
    case 415:
      return StatusCode::kInvalidArgument;
    case 503:
      return StatusCode::kUnavailable;
    case 504:
      return StatusCode::kDeadlineExceeded;
    default:
      return StatusCode::kInternal;
  }
}

uint16_t CloseCodeOf(StatusCode code) {
  if (code == StatusCode::kOk) return 1000;
  return static_cast<uint16_t>(4000 + static_cast<int>(code));
}

std::string ErrorBody(StatusCode code, std::string_view message) {
  std::string body = "{\"code\":" + std::to_string(static_cast<int>(code)) + ",\"message\":";
  observe::AppendJsonString(message, &body);
  body += ",\"details\":[]}";
  return body;
}

}  // namespace percore::gateway
