#include "tools/grpcdyn/operator_json.h"

#include <string>

namespace percore::grpcdyn {

bool IsBlankJson(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

Result<nlohmann::json> ParseOperatorJson(std::string_view text, std::string_view what) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number
    // too large for a double ("1e400"), which used to escape and terminate the tool.
    // e.what() carries "[json.exception.parse_error.101] parse error at line 1, column 9: ...";
    // the position is what the operator needs.
    std::string message = e.what();
    size_t at = message.find("parse error");
    return Error{"bad JSON in " + std::string(what) + ": " +
                 (at == std::string::npos ? message : message.substr(at))};
  }
}

}  // namespace percore::grpcdyn
