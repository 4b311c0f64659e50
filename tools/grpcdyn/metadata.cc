#include "tools/grpcdyn/metadata.h"

#include <nlohmann/json.hpp>

#include "tools/grpcdyn/operator_json.h"

namespace percore::grpcdyn {
namespace {

Status CheckKey(const std::string& key) {
  if (key.empty()) return Error{"metadata key must not be empty"};
  for (char c : key) {
    bool allowed =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!allowed) {
      return Error{"metadata key '" + key +
                   "' is invalid: keys must be lower-case letters, digits, '-', '_' or '.'"};
    }
  }
  if (key.rfind("grpc-", 0) == 0) return Error{"metadata key '" + key + "' is reserved by gRPC"};
  return OkStatus();
}

Result<std::string> ValueText(const std::string& key, const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number() || value.is_boolean()) return value.dump();
  return Error{"metadata value of '" + key + "' must be a string, got " + value.dump()};
}

}  // namespace

Result<Metadata> ParseMetadata(std::string_view json_text) {
  Metadata metadata;
  if (IsBlankJson(json_text)) return metadata;
  Result<nlohmann::json> parsed = ParseOperatorJson(json_text, "metadata");
  if (!parsed.ok()) return std::move(parsed).TakeError();
  if (!parsed->is_object()) {
    return Error{"metadata must be a JSON object of header names to values, got " + parsed->dump()};
  }
  for (const auto& [key, value] : parsed->items()) {
    if (Status ok = CheckKey(key); !ok.ok()) return std::move(ok).TakeError();
    if (value.is_array()) {
      for (const auto& element : value) {
        auto text = ValueText(key, element);
        if (!text.ok()) return std::move(text).TakeError();
        metadata.emplace_back(key, *text);
      }
      continue;
    }
    auto text = ValueText(key, value);
    if (!text.ok()) return std::move(text).TakeError();
    metadata.emplace_back(key, *text);
  }
  return metadata;
}

}  // namespace percore::grpcdyn
