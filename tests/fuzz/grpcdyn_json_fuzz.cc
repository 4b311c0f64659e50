// Fuzz target: what percore-call and percore-load (tools/grpcdyn) decode from outside — request
// data (-d: a JSON object or array, split, then each element converted to a message's wire
// bytes), metadata (-m: a JSON object), and the response bytes a server sends back (converted to
// JSON). The first input byte picks the message type among a few with every field kind the
// commerce protos use (strings, int64 as JSON strings, enums, repeated and nested messages,
// Timestamp, Duration, FieldMask, optional); the rest is the text or the bytes. Checked: data
// that converts to wire bytes converts back to JSON that converts to the same bytes, and a
// response that converts to JSON converts back.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/field_mask.pb.h>
#include <google/protobuf/message.h>

#include <memory>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_support.h"
#include "tools/grpcdyn/message_codec.h"
#include "tools/grpcdyn/metadata.h"
#include "tools/grpcdyn/request_data.h"

namespace percore::grpcdyn {
namespace {

constexpr const char* kTypes[] = {"order.v1.Order", "user.v1.UpdateUserRequest",
                                  "inventory.v1.ReserveStockRequest", "payment.v1.PaymentResult",
                                  "order.v1.CreateOrderRequest"};

const MessageCodec& CodecFor(uint8_t selector) {
  static const MessageCodec* codecs[std::size(kTypes)] = {};
  size_t i = selector % std::size(kTypes);
  if (codecs[i] == nullptr) {
    const google::protobuf::Descriptor* type =
        google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(kTypes[i]);
    FUZZ_CHECK(type != nullptr);
    codecs[i] = new MessageCodec(type);  // lives as long as the process, like the tools' codecs
  }
  return *codecs[i];
}

bool IsFieldNamePath(const std::string& path) {
  bool after_separator = true;  // at the start, after '.' or '_': a letter must follow
  for (char c : path) {
    if (c == '.' || c == '_') {
      if (after_separator) return false;
      after_separator = true;
    } else if (c >= 'a' && c <= 'z') {
      after_separator = false;
    } else {  // digits too: protobuf's mapping of "_n8" and the like does not come back
      return false;
    }
  }
  return !after_separator || path.empty();
}

// Whether every FieldMask at the top of the message `wire` holds only field-name paths.
bool MaskPathsAreFieldNames(const MessageCodec& codec, const grpc::ByteBuffer& wire) {
  namespace pb = google::protobuf;
  std::unique_ptr<pb::Message> message(
      pb::MessageFactory::generated_factory()->GetPrototype(codec.type())->New());
  if (!message->ParseFromString(BufferToBytes(wire))) return false;
  for (int i = 0; i < codec.type()->field_count(); ++i) {
    const pb::FieldDescriptor* field = codec.type()->field(i);
    if (field->message_type() == nullptr || field->message_type() != pb::FieldMask::descriptor() ||
        field->is_repeated()) {
      continue;
    }
    const auto& mask =
        static_cast<const pb::FieldMask&>(message->GetReflection()->GetMessage(*message, field));
    for (const std::string& path : mask.paths()) {
      if (!IsFieldNamePath(path)) return false;
    }
  }
  return true;
}

void CheckRequestData(const MessageCodec& codec, std::string_view text) {
  Result<RequestData> data = SplitRequestData(text);
  if (!data.ok()) return;
  FUZZ_CHECK(!data->messages.empty());
  for (const std::string& json : data->messages) {
    Result<grpc::ByteBuffer> wire = codec.JsonToWire(json);
    if (!wire.ok()) continue;
    Result<std::string> back = codec.WireToJson(*wire, JsonStyle{});
    FUZZ_CHECK(back.ok());
    Result<grpc::ByteBuffer> again = codec.JsonToWire(*back);
    FUZZ_CHECK(again.ok());
    // A FieldMask path other than lower-case words joined by '_' and '.' (upper case, '&', digits)
    // changes under protobuf's camelCase mapping, so only masks of field-name paths must come back
    // the same.
    if (MaskPathsAreFieldNames(codec, *wire)) {
      FUZZ_CHECK(BufferToBytes(*again) == BufferToBytes(*wire));
    }
  }
}

void CheckResponse(const MessageCodec& codec, std::string_view bytes) {
  for (bool defaults : {false, true}) {
    Result<std::string> json = codec.WireToJson(BytesToBuffer(bytes), JsonStyle{true, defaults});
    if (!json.ok()) return;
    FUZZ_CHECK(codec.JsonToWire(*json).ok());
  }
}

}  // namespace
}  // namespace percore::grpcdyn

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  percore::fuzz::SilenceProtobufLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace percore::grpcdyn;
  if (size == 0) return 0;
  const MessageCodec& codec = CodecFor(data[0]);
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  CheckRequestData(codec, rest);
  (void)ParseMetadata(rest);
  CheckResponse(codec, rest);
  return 0;
}
