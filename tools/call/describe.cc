#include "tools/call/describe.h"

#include "tools/grpcdyn/method_lookup.h"

namespace percore::call {
namespace {

using grpcdyn::Error;

std::string NotFound(grpcdyn::Schema& schema, const std::string& what, const std::string& name) {
  if (std::string source = schema.SourceError(); !source.empty()) return source;
  return what + " '" + name + "' not found in " + schema.SourceName();
}

}  // namespace

grpcdyn::Result<std::string> List(grpcdyn::Schema& schema, const std::string& service) {
  std::string out;
  if (service.empty()) {
    auto names = schema.ListServices();
    if (!names.ok()) return std::move(names).TakeError();
    for (const std::string& name : *names) out += name + "\n";
    return out;
  }
  const auto* descriptor = schema.pool().FindServiceByName(service);
  if (descriptor == nullptr) return Error{NotFound(schema, "service", service)};
  for (int i = 0; i < descriptor->method_count(); ++i) {
    out += descriptor->method(i)->full_name() + "\n";
  }
  return out;
}

grpcdyn::Result<std::string> Describe(grpcdyn::Schema& schema, const std::string& symbol) {
  const auto& pool = schema.pool();
  if (symbol.empty()) {
    auto names = schema.ListServices();
    if (!names.ok()) return std::move(names).TakeError();
    std::string out;
    for (const std::string& name : *names) {
      auto one = Describe(schema, name);
      // A service the server lists but cannot describe (no descriptor) is said so, not fatal.
      out += one.ok() ? *one : name + ": " + one.error() + "\n";
    }
    return out;
  }
  if (const auto* service = pool.FindServiceByName(symbol)) {
    return symbol + " is a service:\n" + service->DebugString();
  }
  if (const auto* message = pool.FindMessageTypeByName(symbol)) {
    return symbol + " is a message:\n" + message->DebugString();
  }
  if (const auto* enumeration = pool.FindEnumTypeByName(symbol)) {
    return symbol + " is an enum:\n" + enumeration->DebugString();
  }
  // Methods last: "package.Service/Method" is a method name and nothing else.
  if (auto name = grpcdyn::ParseMethodName(symbol); name.ok()) {
    if (const auto* service = pool.FindServiceByName(name->service)) {
      if (const auto* method = service->FindMethodByName(name->method)) {
        return method->full_name() + " is a method:\n" + method->DebugString();
      }
    }
  }
  return Error{NotFound(schema, "symbol", symbol)};
}

}  // namespace percore::call
