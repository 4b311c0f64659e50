#pragma once
// Threading contract: pure functions.
//
// JSON the operator typed on the command line or in a file (-d request data, -m metadata),
// read one way for both: blank text is told apart (each flag gives it its own meaning), and a
// syntax error says where the text broke, since that is what the operator has to fix.

#include <nlohmann/json.hpp>
#include <string_view>

#include "tools/grpcdyn/result.h"

namespace percore::grpcdyn {

// Only spaces, tabs and line breaks, or nothing.
bool IsBlankJson(std::string_view text);

// The parsed JSON, or "bad JSON in <what>: parse error at line L, column C: ...".
Result<nlohmann::json> ParseOperatorJson(std::string_view text, std::string_view what);

}  // namespace percore::grpcdyn
