#include "tools/grpcdyn/message_codec.h"

#include <google/protobuf/util/json_util.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

namespace percore::grpcdyn {

MessageCodec::MessageCodec(const google::protobuf::Descriptor* type)
    : type_(type), prototype_(factory_.GetPrototype(type)) {}

Result<grpc::ByteBuffer> MessageCodec::JsonToWire(std::string_view json) const {
  std::unique_ptr<google::protobuf::Message> message(prototype_->New());
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message.get());
  if (!status.ok()) {
    return Error{"request JSON does not fit " + type_->full_name() + ": " +
                 std::string(status.message()) + " (in " + std::string(json) + ")"};
  }
  std::string bytes;
  if (!message->SerializeToString(&bytes)) {
    return Error{"cannot serialize " + type_->full_name()};
  }
  return BytesToBuffer(bytes);
}

Result<std::string> MessageCodec::WireToJson(const grpc::ByteBuffer& wire, JsonStyle style) const {
  std::unique_ptr<google::protobuf::Message> message(prototype_->New());
  if (!message->ParseFromString(BufferToBytes(wire))) {
    return Error{"response is not a valid " + type_->full_name()};
  }
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = style.emit_defaults;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(*message, &json, options);
  if (!status.ok()) {
    return Error{"cannot print " + type_->full_name() +
                 " as JSON: " + std::string(status.message())};
  }
  if (!style.pretty) return json;
  // protobuf indents by one space; grpcurl and most JSON tools by two. Field order is kept.
  auto tree = nlohmann::ordered_json::parse(json, nullptr, /*allow_exceptions=*/false);
  return tree.is_discarded() ? json : tree.dump(2);
}

grpc::ByteBuffer BytesToBuffer(std::string_view bytes) {
  grpc::Slice slice(bytes.data(), bytes.size());
  return grpc::ByteBuffer(&slice, 1);
}

std::string BufferToBytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!buffer.Dump(&slices).ok()) return bytes;
  bytes.reserve(buffer.Length());
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return bytes;
}

}  // namespace percore::grpcdyn
