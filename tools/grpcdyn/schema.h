#pragma once
// Threading contract: load and look up on one thread; afterwards pool() may be read from any
// thread (DescriptorPool lookups are thread-safe, and a pool backed by a database serializes
// the database calls under its own mutex). The Schema must outlive every descriptor taken from
// its pool.
//
// Where the tools learn the shape of services they have no generated code for: .proto files
// parsed at run time (ProtoFileSchema) or the server's own reflection service
// (ReflectionSchema). Both end in a protobuf DescriptorPool, so everything downstream
// (method lookup, JSON, describe) is the same code for both.

#include <google/protobuf/descriptor.h>

#include <string>
#include <vector>

#include "tools/grpcdyn/result.h"

namespace percore::grpcdyn {

class Schema {
 public:
  virtual ~Schema() = default;

  virtual const google::protobuf::DescriptorPool& pool() const = 0;
  // Fully-qualified service names, sorted.
  virtual Result<std::vector<std::string>> ListServices() = 0;
  // When a lookup found nothing: why the source itself failed (for instance the reflection
  // stream was refused), or empty when the name is simply unknown.
  virtual std::string SourceError() const { return {}; }
  // "server reflection" or "proto files", for messages.
  virtual std::string SourceName() const = 0;
};

}  // namespace percore::grpcdyn
