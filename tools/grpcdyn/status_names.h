#pragma once
// Threading contract: pure functions.
//
// Status codes spelled the way Go's grpc-go prints them ("OK", "NotFound", ...): ghz's report
// keys, Prometheus' grpc_code labels and grpcurl's output all use these names, so reports from
// percore's tools line up with reports from the Go tools.

#include <grpcpp/support/status.h>

#include <string>
#include <string_view>

namespace percore::grpcdyn {

// Codes 0..16 have names; any other number prints as "Code(N)", as Go does.
std::string StatusCodeName(int code);

// grpc-go's error text: "rpc error: code = NotFound desc = user 42 not found"; ghz uses it as
// the key of errorDistribution.
std::string GoErrorString(const grpc::Status& status);

}  // namespace percore::grpcdyn
