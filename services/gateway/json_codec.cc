#include "services/gateway/json_codec.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <charconv>
#include <cstdint>

#include "services/gateway/json_codec_wire.h"

namespace percore::gateway {

namespace pb = google::protobuf;

Status DecodeJson(std::string_view json, const Params& params, pb::Message& message) {
  if (!json.empty()) {
    pb::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    auto parsed =
        pb::util::JsonStringToMessage(pb::StringPiece(json.data(), json.size()), &message, options);
    if (!parsed.ok()) {
      return Status(StatusCode::kInvalidArgument, "invalid JSON for " +
                                                      message.GetDescriptor()->full_name() + ": " +
                                                      std::string(parsed.message()));
    }
  }
  for (const auto& [name, value] : params) {
    if (Status set = SetField(message, name, value); !set.ok()) return set;
  }
  return Status();
}

namespace {

pb::util::JsonPrintOptions PrintOptions() {
  pb::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  return options;
}

// The generated pool's types, for printing from the binary form. Its lookups are const and the
// pool is immutable once built: shared by every shard.
pb::util::TypeResolver& Resolver() {
  static pb::util::TypeResolver* resolver = pb::util::NewTypeResolverForDescriptorPool(
      "type.googleapis.com", pb::DescriptorPool::generated_pool());
  return *resolver;
}

}  // namespace

void EncodeJson(const pb::Message& message, std::string& out) {
  if (message.GetDescriptor()->file()->pool() != pb::DescriptorPool::generated_pool()) {
    out.clear();
    pb::util::MessageToJsonString(message, &out, PrintOptions());
    return;
  }
  // protobuf's printer serializes first too; the direct writer then skips its type resolution.
  thread_local std::string bytes;
  bytes.clear();
  message.SerializeToString(&bytes);
  EncodeJsonFromBinary(bytes, *message.GetDescriptor(), out);
}

void EncodeJsonFromBinary(std::string_view bytes, const pb::Descriptor& type, std::string& out) {
  out.clear();
  if (AppendJsonFromWire(bytes, type, out)) return;
  out.clear();  // declined: protobuf's printer
  static const pb::util::JsonPrintOptions options = PrintOptions();
  pb::io::ArrayInputStream in(bytes.data(), static_cast<int>(bytes.size()));
  pb::io::StringOutputStream sink(&out);
  auto printed = pb::util::BinaryToJsonStream(
      &Resolver(), "type.googleapis.com/" + type.full_name(), &in, &sink, options);
  if (!printed.ok()) out = "{}";
}

namespace {

template <class T>
bool ParseNumber(std::string_view text, T& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

}  // namespace

Status SetField(pb::Message& message, std::string_view name, std::string_view text) {
  const pb::Descriptor* type = message.GetDescriptor();
  std::string key(name);
  const pb::FieldDescriptor* field = type->FindFieldByName(key);
  for (int i = 0; field == nullptr && i < type->field_count(); ++i) {
    if (type->field(i)->json_name() == key) field = type->field(i);
  }
  if (field == nullptr) {
    return Status(StatusCode::kInvalidArgument,
                  "unknown parameter \"" + key + "\" for " + type->full_name());
  }
  if (field->is_repeated() || field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
    return Status(StatusCode::kInvalidArgument,
                  "parameter \"" + key + "\" cannot be set from a path or query");
  }
  const pb::Reflection* reflection = message.GetReflection();
  auto wrong = [&](const char* what) {
    return Status(StatusCode::kInvalidArgument,
                  "parameter \"" + key + "\": \"" + std::string(text) + "\" is not " + what);
  };
  switch (field->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING:
      reflection->SetString(&message, field, std::string(text));
      return Status();
    case pb::FieldDescriptor::CPPTYPE_INT32: {
      int32_t v = 0;
      if (!ParseNumber(text, v)) return wrong("a 32-bit integer");
      reflection->SetInt32(&message, field, v);
      return Status();
    }
    case pb::FieldDescriptor::CPPTYPE_INT64: {
      int64_t v = 0;
      if (!ParseNumber(text, v)) return wrong("a 64-bit integer");
      reflection->SetInt64(&message, field, v);
      return Status();
    }
    case pb::FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v = 0;
      if (!ParseNumber(text, v)) return wrong("an unsigned 32-bit integer");
      reflection->SetUInt32(&message, field, v);
      return Status();
    }
    case pb::FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v = 0;
      if (!ParseNumber(text, v)) return wrong("an unsigned 64-bit integer");
      reflection->SetUInt64(&message, field, v);
      return Status();
    }
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      if (text == "true" || text == "1") {
        reflection->SetBool(&message, field, true);
      } else if (text == "false" || text == "0") {
        reflection->SetBool(&message, field, false);
      } else {
        return wrong("true or false");
      }
      return Status();
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      const pb::EnumValueDescriptor* value = field->enum_type()->FindValueByName(std::string(text));
      int number = 0;
      if (value == nullptr && ParseNumber(text, number)) {
        value = field->enum_type()->FindValueByNumber(number);
      }
      if (value == nullptr) return wrong(("a value of " + field->enum_type()->full_name()).c_str());
      reflection->SetEnum(&message, field, value);
      return Status();
    }
    default:
      return wrong("supported here");
  }
}

bool PercentDecode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      int hi = hex(in[i + 1]);
      int lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

}  // namespace percore::gateway
