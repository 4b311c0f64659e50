#include "tools/grpcdyn/request_data.h"

#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tools/grpcdyn/operator_json.h"

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
  if (IsBlankJson(json_text)) {
    data.messages.push_back("{}");
    return data;
  }
  Result<nlohmann::json> parsed = ParseOperatorJson(json_text, "request data");
  if (!parsed.ok()) return std::move(parsed).TakeError();
  auto check = [](const nlohmann::json& message) -> Status {
    if (!message.is_object()) {
      return Error{"request data must be a JSON object or an array of objects, got " +
                   std::string(message.type_name()) + " " + message.dump()};
    }
    return OkStatus();
  };
  if (parsed->is_array()) {
    if (parsed->empty()) return Error{"request data is an empty JSON array: no message to send"};
    data.was_array = true;
    for (const auto& element : *parsed) {
      if (Status ok = check(element); !ok.ok()) return std::move(ok).TakeError();
      data.messages.push_back(element.dump());
    }
    return data;
  }
  if (Status ok = check(*parsed); !ok.ok()) return std::move(ok).TakeError();
  data.messages.push_back(parsed->dump());
  return data;
}

}  // namespace percore::grpcdyn
