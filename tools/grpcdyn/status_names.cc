#include "tools/grpcdyn/status_names.h"

namespace percore::grpcdyn {
namespace {

constexpr std::string_view kNames[] = {
    "OK",       "Canceled",        "Unknown",          "InvalidArgument",   "DeadlineExceeded",
    "NotFound", "AlreadyExists",   "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
    "Aborted",  "OutOfRange",      "Unimplemented",    "Internal",          "Unavailable",
    "DataLoss", "Unauthenticated",
};

}  // namespace

std::string StatusCodeName(int code) {
  if (code >= 0 && code < static_cast<int>(std::size(kNames))) return std::string(kNames[code]);
  return "Code(" + std::to_string(code) + ")";
}

std::string GoErrorString(const grpc::Status& status) {
  return "rpc error: code = " + StatusCodeName(status.error_code()) +
         " desc = " + status.error_message();
}

}  // namespace percore::grpcdyn
