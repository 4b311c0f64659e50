#pragma once
// Threading contract: call on the thread that owns the Schema (lookups may load descriptors).
// The MethodRef points into the Schema's pool and lives as long as the Schema.
//
// From the name a user types ("user.v1.UserService.GetUser", as ghz writes it, or
// "user.v1.UserService/GetUser", as grpcurl and the wire do) to the method's descriptor, the
// HTTP/2 path gRPC sends, and the call shape, with errors that list what does exist.

#include <google/protobuf/descriptor.h>

#include <string>
#include <string_view>

#include "tools/grpcdyn/result.h"
#include "tools/grpcdyn/schema.h"

namespace percore::grpcdyn {

enum class CallShape { kUnary, kServerStreaming, kClientStreaming, kBidiStreaming };

std::string_view CallShapeName(CallShape shape);

struct MethodName {
  std::string service;  // "user.v1.UserService"
  std::string method;   // "GetUser"
};

// Syntax only (no lookup), so a malformed --call is a usage error before any connection.
Result<MethodName> ParseMethodName(std::string_view text);

struct MethodRef {
  const google::protobuf::MethodDescriptor* descriptor = nullptr;
  std::string path;  // "/user.v1.UserService/GetUser"
  CallShape shape = CallShape::kUnary;
};

MethodRef MakeMethodRef(const google::protobuf::MethodDescriptor* method);

// Errors say whether the service or the method is missing and list the names that exist.
Result<MethodRef> FindMethod(Schema& schema, const MethodName& name);

}  // namespace percore::grpcdyn
