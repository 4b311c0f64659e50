#include "services/reflection/reflection_answers.h"

#include <google/protobuf/descriptor.pb.h>

#include <deque>
#include <utility>

#include "services/reflection/reflection_versions.h"

namespace percore::reflection {

namespace pb = google::protobuf;

ReflectionAnswers::ReflectionAnswers(std::shared_ptr<const std::vector<std::string>> services,
                                     const pb::DescriptorPool* pool)
    : services_(std::move(services)), pool_(pool) {}

void ReflectionAnswers::AddFiles(const pb::FileDescriptor* file, std::vector<std::string>* out) {
  // Breadth first, like grpc-go: the requested file even if this stream sent it before (the
  // client asked for it by name), each dependency only the first time on this stream.
  std::deque<const pb::FileDescriptor*> queue = {file};
  std::unordered_set<const pb::FileDescriptor*> visited = {file};
  bool first = true;
  while (!queue.empty()) {
    const pb::FileDescriptor* next = queue.front();
    queue.pop_front();
    if (sent_.insert(next->name()).second || first) {
      pb::FileDescriptorProto proto;
      next->CopyTo(&proto);
      out->push_back(proto.SerializeAsString());
    }
    first = false;
    for (int i = 0; i < next->dependency_count(); ++i) {
      if (visited.insert(next->dependency(i)).second) queue.push_back(next->dependency(i));
    }
  }
}

Status ReflectionAnswers::FileByName(const std::string& name, std::vector<std::string>* out) {
  const pb::FileDescriptor* file = pool_->FindFileByName(name);
  if (file == nullptr) return Status(StatusCode::kNotFound, "File not found: " + name);
  AddFiles(file, out);
  return Status();
}

Status ReflectionAnswers::FileContainingSymbol(const std::string& symbol,
                                               std::vector<std::string>* out) {
  const pb::FileDescriptor* file = pool_->FindFileContainingSymbol(symbol);
  if (file == nullptr) return Status(StatusCode::kNotFound, "Symbol not found: " + symbol);
  AddFiles(file, out);
  return Status();
}

Status ReflectionAnswers::FileContainingExtension(const std::string& type, int number,
                                                  std::vector<std::string>* out) {
  const pb::Descriptor* message = pool_->FindMessageTypeByName(type);
  if (message == nullptr) return Status(StatusCode::kNotFound, "Type not found: " + type);
  const pb::FieldDescriptor* extension = pool_->FindExtensionByNumber(message, number);
  if (extension == nullptr) {
    return Status(StatusCode::kNotFound,
                  "Extension not found: " + type + " has no extension " + std::to_string(number));
  }
  AddFiles(extension->file(), out);
  return Status();
}

Status ReflectionAnswers::ExtensionNumbers(const std::string& type, std::vector<int>* numbers) {
  const pb::Descriptor* message = pool_->FindMessageTypeByName(type);
  if (message == nullptr) return Status(StatusCode::kNotFound, "Type not found: " + type);
  std::vector<const pb::FieldDescriptor*> extensions;
  pool_->FindAllExtensions(message, &extensions);
  for (const pb::FieldDescriptor* extension : extensions) numbers->push_back(extension->number());
  return Status();
}

template <class Version>
typename Version::Response ReflectionAnswers::Answer(const typename Version::Request& request) {
  using Request = typename Version::Request;
  typename Version::Response response;
  response.set_valid_host(request.host());
  *response.mutable_original_request() = request;
  std::vector<std::string> files;
  Status status;
  switch (request.message_request_case()) {
    case Request::kFileByFilename:
      status = FileByName(request.file_by_filename(), &files);
      break;
    case Request::kFileContainingSymbol:
      status = FileContainingSymbol(request.file_containing_symbol(), &files);
      break;
    case Request::kFileContainingExtension:
      status =
          FileContainingExtension(request.file_containing_extension().containing_type(),
                                  request.file_containing_extension().extension_number(), &files);
      break;
    case Request::kAllExtensionNumbersOfType: {
      std::vector<int> numbers;
      status = ExtensionNumbers(request.all_extension_numbers_of_type(), &numbers);
      if (status.ok()) {
        auto* answer = response.mutable_all_extension_numbers_response();
        answer->set_base_type_name(request.all_extension_numbers_of_type());
        for (int number : numbers) answer->add_extension_number(number);
      }
      break;
    }
    case Request::kListServices: {
      auto* answer = response.mutable_list_services_response();
      for (const std::string& name : *services_) answer->add_service()->set_name(name);
      break;
    }
    default:
      status = Status(StatusCode::kInvalidArgument,
                      "the request names nothing: set one of file_by_filename, "
                      "file_containing_symbol, file_containing_extension, "
                      "all_extension_numbers_of_type or list_services");
  }
  if (!status.ok()) {
    auto* error = response.mutable_error_response();
    error->set_error_code(static_cast<int32_t>(status.code()));
    error->set_error_message(status.message());
  } else if (!files.empty()) {
    auto* answer = response.mutable_file_descriptor_response();
    for (std::string& file : files) answer->add_file_descriptor_proto(std::move(file));
  }
  return response;
}

template V1Alpha::Response ReflectionAnswers::Answer<V1Alpha>(const V1Alpha::Request&);
template V1::Response ReflectionAnswers::Answer<V1>(const V1::Request&);

}  // namespace percore::reflection
