#pragma once
// Threading contract: pure functions over the messages given; any thread (protobuf's JSON
// mapping keeps no state of its own).
//
// protobuf's JSON mapping as the gateway uses it: proto3 JSON names on output (snake_case
// accepted on input), enums by name, 64-bit integers as strings, Timestamp as RFC 3339, fields
// at their default printed (as grpc-gateway v2 does: a browser sees `"stock": "0"`, not a gap).
// Unknown fields and wrong types are INVALID_ARGUMENT naming what protobuf's parser names.
// Path and query parameters are set on the request by field name after the body.

#include <google/protobuf/message.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/status.h"

namespace percore::gateway {

using Params = std::vector<std::pair<std::string, std::string>>;  // field name, text value

// Parses `json` ("" for none) into `message`, then sets each of `params`.
Status DecodeJson(std::string_view json, const Params& params, google::protobuf::Message& message);
void EncodeJson(const google::protobuf::Message& message, std::string& out);
// The same from protobuf's binary form of a message of `type` (protobuf's JSON printer works on
// that form anyway: MessageToJsonString serializes first), so a stored row is printed as it is.
void EncodeJsonFromBinary(std::string_view bytes, const google::protobuf::Descriptor& type,
                          std::string& out);
// Sets field `name` (proto or JSON name) of `message` from its text form (strings, integers,
// booleans, enums by name or number). INVALID_ARGUMENT naming the field when it cannot.
Status SetField(google::protobuf::Message& message, std::string_view name, std::string_view text);
// Percent-decodes a query component ('+' is a space). False on a bad escape.
bool PercentDecode(std::string_view in, std::string& out);

}  // namespace percore::gateway
