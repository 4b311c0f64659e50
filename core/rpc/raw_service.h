#pragma once
// Threading contract: built and registered once, before the server starts; the Request*
// functions are then called from every shard thread (gRPC's RequestAsyncCall is thread-safe).
//
// A grpc::Service built from a protobuf ServiceDescriptor with every method marked RAW: calls
// carry grpc::ByteBuffers and the service is registered under its real name, so server
// reflection lists it and clients see an ordinary service.

#include <google/protobuf/descriptor.h>
#include <grpcpp/impl/rpc_method.h>
#include <grpcpp/impl/service_type.h>

#include <string>
#include <string_view>
#include <vector>

namespace percore::rpc {

// The descriptor of a service compiled into this program ("user.v1.UserService"); throws
// std::invalid_argument if its .proto was not linked in.
const google::protobuf::ServiceDescriptor* FindServiceDescriptor(const std::string& full_name);

class RawService final : public grpc::Service {
 public:
  using RpcType = grpc::internal::RpcMethod::RpcType;

  explicit RawService(const google::protobuf::ServiceDescriptor* descriptor);

  const google::protobuf::ServiceDescriptor* descriptor() const { return descriptor_; }
  const std::string& full_name() const { return descriptor_->full_name(); }
  int method_count() const { return descriptor_->method_count(); }
  // Index of `method` (its short name, "GetUser"), or -1.
  int MethodIndex(std::string_view method) const;
  RpcType MethodType(int index) const;

  void RequestUnary(int index, grpc::ServerContext* context, grpc::ByteBuffer* request,
                    grpc::internal::ServerAsyncStreamingInterface* stream,
                    grpc::ServerCompletionQueue* cq, void* tag) {
    RequestAsyncUnary(index, context, request, stream, cq, cq, tag);
  }
  void RequestServerStreaming(int index, grpc::ServerContext* context, grpc::ByteBuffer* request,
                              grpc::internal::ServerAsyncStreamingInterface* stream,
                              grpc::ServerCompletionQueue* cq, void* tag) {
    RequestAsyncServerStreaming(index, context, request, stream, cq, cq, tag);
  }
  void RequestClientStreaming(int index, grpc::ServerContext* context,
                              grpc::internal::ServerAsyncStreamingInterface* stream,
                              grpc::ServerCompletionQueue* cq, void* tag) {
    RequestAsyncClientStreaming(index, context, stream, cq, cq, tag);
  }
  void RequestBidiStreaming(int index, grpc::ServerContext* context,
                            grpc::internal::ServerAsyncStreamingInterface* stream,
                            grpc::ServerCompletionQueue* cq, void* tag) {
    RequestAsyncBidiStreaming(index, context, stream, cq, cq, tag);
  }

 private:
  const google::protobuf::ServiceDescriptor* descriptor_;
  std::vector<std::string> paths_;  // "/pkg.Service/Method"; gRPC keeps the char pointers
};

}  // namespace percore::rpc
