#include "tools/grpcdyn/method_lookup.h"

namespace percore::grpcdyn {
namespace {

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace

std::string_view CallShapeName(CallShape shape) {
  switch (shape) {
    case CallShape::kUnary:
      return "unary";
    case CallShape::kServerStreaming:
      return "server-streaming";
    case CallShape::kClientStreaming:
      return "client-streaming";
    case CallShape::kBidiStreaming:
      return "bidi-streaming";
  }
  return "unknown";
}

Result<MethodName> ParseMethodName(std::string_view text) {
  std::string_view name = text;
  if (!name.empty() && name[0] == '/') name.remove_prefix(1);
  size_t split = name.rfind('/');
  if (split == std::string_view::npos) split = name.rfind('.');
  if (split == std::string_view::npos || split == 0 || split + 1 >= name.size() ||
      name.substr(0, split).find('/') != std::string_view::npos) {
    return Error{"method name '" + std::string(text) +
                 "' must be package.Service.Method or package.Service/Method"};
  }
  return MethodName{std::string(name.substr(0, split)), std::string(name.substr(split + 1))};
}

MethodRef MakeMethodRef(const google::protobuf::MethodDescriptor* method) {
  MethodRef ref;
  ref.descriptor = method;
  ref.path = "/" + method->service()->full_name() + "/" + method->name();
  if (method->client_streaming()) {
    ref.shape =
        method->server_streaming() ? CallShape::kBidiStreaming : CallShape::kClientStreaming;
  } else {
    ref.shape = method->server_streaming() ? CallShape::kServerStreaming : CallShape::kUnary;
  }
  return ref;
}

Result<MethodRef> FindMethod(Schema& schema, const MethodName& name) {
  const auto* service = schema.pool().FindServiceByName(name.service);
  if (service == nullptr) {
    if (std::string source = schema.SourceError(); !source.empty()) return Error{source};
    std::string message = "service '" + name.service + "' not found in " + schema.SourceName();
    if (auto services = schema.ListServices(); services.ok() && !services->empty()) {
      message += "; it has: " + JoinNames(*services);
    }
    return Error{message};
  }
  const auto* method = service->FindMethodByName(name.method);
  if (method == nullptr) {
    std::vector<std::string> methods;
    for (int i = 0; i < service->method_count(); ++i) methods.push_back(service->method(i)->name());
    return Error{"method '" + name.method + "' not found in service '" + name.service +
                 "'; it has: " + JoinNames(methods)};
  }
  return MakeMethodRef(method);
}

}  // namespace percore::grpcdyn
