#pragma once
// Threading contract: call on the thread that owns the Schema (lookups may load descriptors).
//
// percore-call's list and describe: service names, a service's methods, and proto-like text
// for a service, method, message or enum, as grpcurl prints them.

#include <string>

#include "tools/grpcdyn/result.h"
#include "tools/grpcdyn/schema.h"

namespace percore::call {

// Every service, or one service's methods ("package.Service.Method"), one per line.
grpcdyn::Result<std::string> List(grpcdyn::Schema& schema, const std::string& service);

// "NAME is a service:" and its definition; for an empty name every service.
grpcdyn::Result<std::string> Describe(grpcdyn::Schema& schema, const std::string& symbol);

}  // namespace percore::call
