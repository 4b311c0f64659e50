#pragma once
// Threading contract: stateless; any thread.
//
// Calls move grpc::ByteBuffers on the wire (every method is registered "raw"), so the framework
// decides when and how messages are parsed and serialized; a handler may also hand over bytes it
// serialized once and kept (WriteRaw/FinishRaw). Codec<M> is the one place that converts.

#include <grpcpp/impl/codegen/proto_utils.h>  // SerializationTraits for protobuf messages
#include <grpcpp/support/byte_buffer.h>

#include <string>
#include <utility>

namespace percore::rpc {

template <class Message>
struct Codec {
  // Consumes `bytes`.
  static bool Parse(grpc::ByteBuffer* bytes, Message* out) {
    return grpc::SerializationTraits<Message>::Deserialize(bytes, out).ok();
  }
  static grpc::ByteBuffer Serialize(const Message& message) {
    grpc::ByteBuffer bytes;
    bool own_buffer = false;
    grpc::SerializationTraits<Message>::Serialize(message, &bytes, &own_buffer);
    return bytes;
  }
  static std::string TypeName() { return Message().GetTypeName(); }
};

// Methods nobody implements, and raw pass-through handlers, take the bytes as they came.
template <>
struct Codec<grpc::ByteBuffer> {
  static bool Parse(grpc::ByteBuffer* bytes, grpc::ByteBuffer* out) {
    out->Swap(bytes);
    return true;
  }
  static grpc::ByteBuffer Serialize(const grpc::ByteBuffer& bytes) { return bytes; }
  static std::string TypeName() { return "bytes"; }
};

}  // namespace percore::rpc
