// Fuzz target: the gateway's JSON writer (services/gateway/json_codec_wire.h), which prints a
// message's JSON straight from its binary form. The first byte picks the message type (the ones
// the gateway answers with); the rest is the binary message. Checked: whatever the writer
// accepts, protobuf's own printer (BinaryToJsonStream, the options json_codec.cc uses) accepts
// too and prints the same text when the bytes are as protobuf serializes them (the gateway's
// case), the same message otherwise; the writer never reads past the input (ASan).

#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "inventory/v1/inventory.pb.h"
#include "order/v1/order.pb.h"
#include "payment/v1/payment.pb.h"
#include "services/gateway/json_codec_wire.h"
#include "tests/fuzz/fuzz_support.h"
#include "user/v1/user.pb.h"

namespace percore {
namespace {

namespace pb = google::protobuf;

const pb::Descriptor* const kTypes[] = {
    user::v1::User::descriptor(),
    user::v1::UserUpdate::descriptor(),
    order::v1::Order::descriptor(),
    order::v1::OrderUpdate::descriptor(),
    order::v1::ChatResponse::descriptor(),
    inventory::v1::Product::descriptor(),
    inventory::v1::Reservation::descriptor(),
    payment::v1::PaymentResult::descriptor(),
};

bool ProtobufJson(std::string_view bytes, const pb::Descriptor& type, std::string& out) {
  static const std::unique_ptr<pb::util::TypeResolver> resolver(
      pb::util::NewTypeResolverForDescriptorPool("type.googleapis.com",
                                                 pb::DescriptorPool::generated_pool()));
  pb::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;  // as services/gateway/json_codec.cc
  pb::io::ArrayInputStream in(bytes.data(), static_cast<int>(bytes.size()));
  pb::io::StringOutputStream sink(&out);
  return pb::util::BinaryToJsonStream(resolver.get(), "type.googleapis.com/" + type.full_name(),
                                      &in, &sink, options)
      .ok();
}

std::unique_ptr<pb::Message> NewMessage(const pb::Descriptor& type) {
  return std::unique_ptr<pb::Message>(
      pb::MessageFactory::generated_factory()->GetPrototype(&type)->New());
}

// Whether `bytes` are what protobuf itself serializes for their message (fields in number order,
// each once): what the gateway prints is always so.
bool Canonical(std::string_view bytes, const pb::Descriptor& type) {
  std::unique_ptr<pb::Message> message = NewMessage(type);
  return message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) &&
         message->SerializeAsString() == bytes;
}

bool SameMessage(const std::string& a, const std::string& b, const pb::Descriptor& type) {
  std::unique_ptr<pb::Message> first = NewMessage(type), second = NewMessage(type);
  return pb::util::JsonStringToMessage(a, first.get()).ok() &&
         pb::util::JsonStringToMessage(b, second.get()).ok() &&
         pb::util::MessageDifferencer::Equals(*first, *second);
}

}  // namespace
}  // namespace percore

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace percore;
  if (size == 0) return 0;
  const pb::Descriptor& type = *kTypes[data[0] % std::size(kTypes)];
  // libFuzzer's buffer, exactly the input's size: a read past it is an ASan report.
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string written;
  if (!gateway::AppendJsonFromWire(bytes, type, written)) return 0;
  std::string expected;
  const bool printed = ProtobufJson(bytes, type, expected);
  // Bytes as protobuf serializes them (the gateway's case): the same text. Otherwise (fields out
  // of number order, a singular field repeated, ...) protobuf's printer follows the wire and the
  // writer the descriptor: the same message is required, not the same text.
  const bool same = printed && (Canonical(bytes, type) ? written == expected
                                                       : SameMessage(written, expected, type));
  if (!same) {
    std::fprintf(stderr, "%s\nwriter:   %s\nprotobuf: %s%s\n", type.full_name().c_str(),
                 written.c_str(), expected.c_str(), printed ? "" : " (refused)");
  }
  FUZZ_CHECK(same);
  return 0;
}
