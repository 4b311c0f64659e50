#pragma once
// Threading contract: one ReflectionAnswers per reflection stream, used on that stream's shard
// only. The descriptor pool is protobuf's (generated_pool() is safe to read from any thread; it
// locks internally the first time it builds a file).
//
// The answer to each ServerReflectionRequest, as gRPC's own reflection service gives it: the
// request's host and the request itself echoed back, then one of
//   list_services               the names this server hosts (given at construction);
//   file_by_filename            that file,
//   file_containing_symbol      the file defining a service, method, message, enum, enum value,
//                               field or extension (nested names included),
//   file_containing_extension   the file defining extension N of a message type,
//                               each as a serialized FileDescriptorProto, the requested file first,
//                               then its transitive dependencies not yet sent on this stream
//                               (reflection.proto allows it and grpc-go does it: a client keeps
//                               what a stream sent, so each file crosses once);
//   all_extension_numbers_of_type  the type's name and its extensions' numbers;
// or an error_response: NOT_FOUND (with what was not found) for an unknown file, symbol, type or
// extension, INVALID_ARGUMENT for a request that names nothing. Pure: no stream, no transport,
// so tests feed it a pool of their own.

#include <google/protobuf/descriptor.h>

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/base/status.h"

namespace percore::reflection {

class ReflectionAnswers {
 public:
  // `services`: the service names list_services answers (shared, immutable).
  ReflectionAnswers(std::shared_ptr<const std::vector<std::string>> services,
                    const google::protobuf::DescriptorPool* pool =
                        google::protobuf::DescriptorPool::generated_pool());

  // Version: V1Alpha or V1 (reflection_versions.h).
  template <class Version>
  typename Version::Response Answer(const typename Version::Request& request);

  // The files sent on this stream so far.
  size_t files_sent() const { return sent_.size(); }

 private:
  // Appends `file` (always) and then its dependencies not yet sent, marking them sent.
  void AddFiles(const google::protobuf::FileDescriptor* file, std::vector<std::string>* out);
  Status FileByName(const std::string& name, std::vector<std::string>* out);
  Status FileContainingSymbol(const std::string& symbol, std::vector<std::string>* out);
  Status FileContainingExtension(const std::string& type, int number,
                                 std::vector<std::string>* out);
  Status ExtensionNumbers(const std::string& type, std::vector<int>* numbers);

  std::shared_ptr<const std::vector<std::string>> services_;
  const google::protobuf::DescriptorPool* pool_;
  std::unordered_set<std::string> sent_;  // file names
};

}  // namespace percore::reflection
