#include "core/rpc/raw_service.h"

#include <grpcpp/impl/rpc_service_method.h>

#include <stdexcept>

namespace percore::rpc {

const google::protobuf::ServiceDescriptor* FindServiceDescriptor(const std::string& full_name) {
  const google::protobuf::ServiceDescriptor* d =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(full_name);
  if (d == nullptr) throw std::invalid_argument("no compiled-in service " + full_name);
  return d;
}

RawService::RawService(const google::protobuf::ServiceDescriptor* descriptor)
    : descriptor_(descriptor) {
  paths_.reserve(descriptor->method_count());  // no reallocation: gRPC holds c_str() pointers
  for (int i = 0; i < descriptor->method_count(); ++i) {
    paths_.push_back("/" + descriptor->full_name() + "/" + descriptor->method(i)->name());
    RpcType type = MethodType(i);
    AddMethod(new grpc::internal::RpcServiceMethod(paths_.back().c_str(), type, nullptr));
    MarkMethodRaw(i);
  }
}

int RawService::MethodIndex(std::string_view method) const {
  for (int i = 0; i < descriptor_->method_count(); ++i) {
    if (descriptor_->method(i)->name() == method) return i;
  }
  return -1;
}

RawService::RpcType RawService::MethodType(int index) const {
  const google::protobuf::MethodDescriptor* method = descriptor_->method(index);
  if (method->client_streaming()) {
    return method->server_streaming() ? RpcType::BIDI_STREAMING : RpcType::CLIENT_STREAMING;
  }
  return method->server_streaming() ? RpcType::SERVER_STREAMING : RpcType::NORMAL_RPC;
}

}  // namespace percore::rpc
