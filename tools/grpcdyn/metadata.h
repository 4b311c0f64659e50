#pragma once
// Threading contract: pure functions.
//
// -m/--metadata as ghz takes it: a JSON object of header names to string values (an array
// value sends the header once per element). Names are checked here because gRPC C++ fails a
// call with an upper-case or otherwise invalid key only when it is sent, once per call.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tools/grpcdyn/result.h"

namespace percore::grpcdyn {

using Metadata = std::vector<std::pair<std::string, std::string>>;

Result<Metadata> ParseMetadata(std::string_view json_text);

}  // namespace percore::grpcdyn
