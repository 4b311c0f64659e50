#pragma once
// Threading contract: after construction, const methods may be called from any thread (each
// call makes its own message from the prototype). The descriptor, and the pool it lives in,
// must outlive the codec.
//
// JSON <-> wire bytes for one message type known only at run time: a DynamicMessage parsed with
// protobuf's proto3 JSON mapping (JsonStringToMessage / MessageToJsonString), so JSON looks the
// same as in grpcurl, ghz and every other proto3 JSON tool (lowerCamelCase names, int64 as
// strings, Timestamps as RFC 3339).

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <grpcpp/support/byte_buffer.h>

#include <string>
#include <string_view>

#include "tools/grpcdyn/result.h"

namespace percore::grpcdyn {

struct JsonStyle {
  bool pretty = false;
  // Print fields that hold their default value (proto3 JSON leaves them out).
  bool emit_defaults = false;
};

class MessageCodec {
 public:
  explicit MessageCodec(const google::protobuf::Descriptor* type);

  const google::protobuf::Descriptor* type() const { return type_; }
  // Errors name the type and the field that did not fit.
  Result<grpc::ByteBuffer> JsonToWire(std::string_view json) const;
  Result<std::string> WireToJson(const grpc::ByteBuffer& wire, JsonStyle style) const;

 private:
  const google::protobuf::Descriptor* type_;
  google::protobuf::DynamicMessageFactory factory_;
  const google::protobuf::Message* prototype_;
};

// A ByteBuffer holding a copy of these bytes, and back.
grpc::ByteBuffer BytesToBuffer(std::string_view bytes);
std::string BufferToBytes(const grpc::ByteBuffer& buffer);

}  // namespace percore::grpcdyn
