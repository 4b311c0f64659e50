#pragma once
// Threading contract: not thread-safe. A DescriptorPool that uses it as its fallback database
// calls it under the pool's own mutex, which is the only way the tools use it after loading.
// The channel must stay usable for the database's lifetime.
//
// A protobuf DescriptorDatabase answered by the server's grpc.reflection.v1alpha service (the
// only version gRPC C++ 1.51 serves), so a DescriptorPool over it loads exactly the files a
// lookup needs, with their dependencies, on demand. One reflection stream is kept open for all
// questions; answers are cached, and so are names the server does not know.

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "tools/grpcdyn/result.h"

namespace percore::grpcdyn {

class ReflectionDatabase : public google::protobuf::DescriptorDatabase {
 public:
  // `timeout` bounds each reflection stream (one is opened again if the server ended one).
  ReflectionDatabase(std::shared_ptr<grpc::Channel> channel, std::chrono::nanoseconds timeout);
  ~ReflectionDatabase() override;

  bool FindFileByName(const std::string& filename,
                      google::protobuf::FileDescriptorProto* output) override;
  bool FindFileContainingSymbol(const std::string& symbol_name,
                                google::protobuf::FileDescriptorProto* output) override;
  bool FindFileContainingExtension(const std::string& containing_type, int field_number,
                                   google::protobuf::FileDescriptorProto* output) override;

  Result<std::vector<std::string>> ListServices();
  // Why the reflection stream failed (code and message), or empty while it works.
  const std::string& transport_error() const { return transport_error_; }

 private:
  using Request = grpc::reflection::v1alpha::ServerReflectionRequest;
  using Response = grpc::reflection::v1alpha::ServerReflectionResponse;

  // One question and its answer; an error_response answer becomes an Error.
  Result<Response> Exchange(const Request& request);
  void CloseStream();
  void CacheFiles(const Response& response);
  // Asks `request` once per `name`: nullopt, without asking, for a name the server did not
  // know before (a failed exchange marks it so); otherwise the answer, its files cached.
  std::optional<Response> Fetch(const std::string& name, const Request& request);

  std::unique_ptr<grpc::reflection::v1alpha::ServerReflection::Stub> stub_;
  std::chrono::nanoseconds timeout_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriter<Request, Response>> stream_;
  google::protobuf::SimpleDescriptorDatabase cache_;
  std::set<std::string> cached_files_;
  std::set<std::string> unknown_names_;
  std::string transport_error_;
};

}  // namespace percore::grpcdyn
