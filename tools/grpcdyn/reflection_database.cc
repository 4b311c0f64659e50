#include "tools/grpcdyn/reflection_database.h"

#include <algorithm>
#include <optional>

#include "tools/grpcdyn/status_names.h"

namespace percore::grpcdyn {

ReflectionDatabase::ReflectionDatabase(std::shared_ptr<grpc::Channel> channel,
                                       std::chrono::nanoseconds timeout)
    : stub_(grpc::reflection::v1alpha::ServerReflection::NewStub(channel)), timeout_(timeout) {}

ReflectionDatabase::~ReflectionDatabase() { CloseStream(); }

void ReflectionDatabase::CloseStream() {
  if (!stream_) return;
  stream_->WritesDone();
  grpc::Status ignored = stream_->Finish();
  stream_.reset();
  context_.reset();
}

Result<ReflectionDatabase::Response> ReflectionDatabase::Exchange(const Request& request) {
  if (!transport_error_.empty()) return Error{transport_error_};
  if (!stream_) {
    context_ = std::make_unique<grpc::ClientContext>();
    context_->set_deadline(std::chrono::system_clock::now() + timeout_);
    stream_ = stub_->ServerReflectionInfo(context_.get());
  }
  Response response;
  if (!stream_->Write(request) || !stream_->Read(&response)) {
    // The stream ended: its status says why (UNIMPLEMENTED when the server has no reflection).
    stream_->WritesDone();
    grpc::Status status = stream_->Finish();
    stream_.reset();
    context_.reset();
    transport_error_ = "server reflection (grpc.reflection.v1alpha.ServerReflection) failed: " +
                       StatusCodeName(status.error_code()) + ": " + status.error_message();
    if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
      transport_error_ += " (the server does not offer reflection; pass --proto)";
    }
    return Error{transport_error_};
  }
  if (response.has_error_response()) {
    return Error{StatusCodeName(response.error_response().error_code()) + ": " +
                 response.error_response().error_message()};
  }
  return response;
}

void ReflectionDatabase::CacheFiles(const Response& response) {
  for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    if (!file.ParseFromString(bytes)) continue;
    // The server sends a file's dependencies with it each time; keep the first copy.
    if (!cached_files_.insert(file.name()).second) continue;
    cache_.Add(file);
  }
}

std::optional<ReflectionDatabase::Response> ReflectionDatabase::Fetch(const std::string& name,
                                                                      const Request& request) {
  if (unknown_names_.count(name)) return std::nullopt;
  auto response = Exchange(request);
  if (!response.ok()) {
    unknown_names_.insert(name);
    return std::nullopt;
  }
  CacheFiles(*response);
  return std::move(response).value();
}

bool ReflectionDatabase::FindFileByName(const std::string& filename,
                                        google::protobuf::FileDescriptorProto* output) {
  if (cache_.FindFileByName(filename, output)) return true;
  Request request;
  request.set_file_by_filename(filename);
  return Fetch("file:" + filename, request) && cache_.FindFileByName(filename, output);
}

bool ReflectionDatabase::FindFileContainingSymbol(const std::string& symbol_name,
                                                  google::protobuf::FileDescriptorProto* output) {
  if (cache_.FindFileContainingSymbol(symbol_name, output)) return true;
  Request request;
  request.set_file_containing_symbol(symbol_name);
  std::optional<Response> response = Fetch("symbol:" + symbol_name, request);
  if (!response) return false;
  if (cache_.FindFileContainingSymbol(symbol_name, output)) return true;
  // Servers answer with the defining file first; trust that when the cache cannot tell (a
  // method name, for one, is not indexed by SimpleDescriptorDatabase).
  const auto& files = response->file_descriptor_response().file_descriptor_proto();
  return !files.empty() && output->ParseFromString(files[0]);
}

bool ReflectionDatabase::FindFileContainingExtension(
    const std::string& containing_type, int field_number,
    google::protobuf::FileDescriptorProto* output) {
  if (cache_.FindFileContainingExtension(containing_type, field_number, output)) return true;
  Request request;
  request.mutable_file_containing_extension()->set_containing_type(containing_type);
  request.mutable_file_containing_extension()->set_extension_number(field_number);
  return Fetch("extension:" + containing_type + "#" + std::to_string(field_number), request) &&
         cache_.FindFileContainingExtension(containing_type, field_number, output);
}

Result<std::vector<std::string>> ReflectionDatabase::ListServices() {
  Request request;
  request.set_list_services("");
  auto response = Exchange(request);
  if (!response.ok()) return std::move(response).TakeError();
  std::vector<std::string> names;
  for (const auto& service : response->list_services_response().service()) {
    names.push_back(service.name());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace percore::grpcdyn
