#include "tools/grpcdyn/request_data.h"

#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

namespace percore::grpcdyn {

Result<std::string> ReadFileArgument(std::string_view path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::ifstream file{std::string(path)};
  if (!file) return Error{"cannot read '" + std::string(path) + "'"};
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

Result<std::string> ReadDataArgument(std::string_view argument) {
  if (argument == "-" || argument == "@") return ReadFileArgument("-");
  if (!argument.empty() && argument[0] == '@') return ReadFileArgument(argument.substr(1));
  return std::string(argument);
}

Result<RequestData> SplitRequestData(std::string_view json_text) {
  RequestData data;
  if (json_text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    data.messages.push_back("{}");
    return data;
  }
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number
    // too large for a double ("1e400"), which used to escape and terminate the tool
    // e.what() carries "[json.exception.parse_error.101] parse error at line 1, column 9: ...";
    // the position is what the user needs.
    std::string what = e.what();
    size_t at = what.find("parse error");
    return Error{"bad JSON in request data: " + (at == std::string::npos ? what : what.substr(at))};
  }
  auto check = [](const nlohmann::json& message) -> Status {
    if (!message.is_object()) {
      return Error{"request data must be a JSON object or an array of objects, got " +
                   std::string(message.type_name()) + " " + message.dump()};
    }
    return OkStatus();
  };
  if (parsed.is_array()) {
    if (parsed.empty()) return Error{"request data is an empty JSON array: no message to send"};
    data.was_array = true;
    for (const auto& element : parsed) {
      if (Status ok = check(element); !ok.ok()) return std::move(ok).TakeError();
      data.messages.push_back(element.dump());
    }
    return data;
  }
  if (Status ok = check(parsed); !ok.ok()) return std::move(ok).TakeError();
  data.messages.push_back(parsed.dump());
  return data;
}

}  // namespace percore::grpcdyn
