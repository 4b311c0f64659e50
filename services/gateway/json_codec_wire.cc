#include "services/gateway/json_codec_wire.h"

#include <google/protobuf/descriptor.pb.h>

#include <charconv>
#include <cstdint>

namespace percore::gateway {

namespace pb = google::protobuf;

namespace {

using FD = pb::FieldDescriptor;

// One field occurrence of protobuf's binary form.
struct WireField {
  uint32_t number = 0;
  int wire_type = 0;
  uint64_t scalar = 0;    // varint, fixed32, fixed64
  std::string_view data;  // length-delimited
};

class WireReader {
 public:
  explicit WireReader(std::string_view bytes)
      : p_(reinterpret_cast<const uint8_t*>(bytes.data())), end_(p_ + bytes.size()) {}
  bool done() const { return p_ == end_; }
  // False at the end or on a malformed field (`failed()` tells which).
  bool Next(WireField& f) {
    if (p_ == end_) return false;
    uint64_t tag = 0;
    if (!Varint(tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) return Fail();
    f.number = static_cast<uint32_t>(tag >> 3);
    f.wire_type = static_cast<int>(tag & 7);
    switch (f.wire_type) {
      case 0:
        return Varint(f.scalar) || Fail();
      case 1:
        return Fixed(8, f.scalar) || Fail();
      case 5:
        return Fixed(4, f.scalar) || Fail();
      case 2: {
        uint64_t size = 0;
        if (!Varint(size) || size > static_cast<uint64_t>(end_ - p_)) return Fail();
        f.data = std::string_view(reinterpret_cast<const char*>(p_), size);
        p_ += size;
        return true;
      }
      default:  // groups
        return Fail();
    }
  }
  bool Varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64 && p_ != end_; shift += 7) {
      uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool Fixed(int size, uint64_t& v) {
    if (end_ - p_ < size) return false;
    v = 0;
    for (int i = 0; i < size; ++i) v |= static_cast<uint64_t>(p_[i]) << (8 * i);
    p_ += size;
    return true;
  }
  bool failed() const { return failed_; }
  size_t left() const { return static_cast<size_t>(end_ - p_); }

 private:
  bool Fail() {
    failed_ = true;
    return false;
  }
  const uint8_t* p_;
  const uint8_t* end_;
  bool failed_ = false;
};

// The wire type of one (unpacked) value of `field`; -1: not printed here.
int WireTypeOf(const FD& field) {
  switch (field.type()) {
    case FD::TYPE_INT32:
    case FD::TYPE_INT64:
    case FD::TYPE_UINT32:
    case FD::TYPE_UINT64:
    case FD::TYPE_SINT32:
    case FD::TYPE_SINT64:
    case FD::TYPE_BOOL:
    case FD::TYPE_ENUM:
      return 0;
    case FD::TYPE_FIXED64:
    case FD::TYPE_SFIXED64:
      return 1;
    case FD::TYPE_FIXED32:
    case FD::TYPE_SFIXED32:
      return 5;
    case FD::TYPE_STRING:
    case FD::TYPE_MESSAGE:
      return 2;
    default:  // float, double, bytes, group
      return -1;
  }
}

template <class T>
void AppendNumber(std::string& out, T v, bool quoted) {
  char text[24];
  auto [end, ec] = std::to_chars(text, text + sizeof text, v);
  if (quoted) out.push_back('"');
  out.append(text, end);
  if (quoted) out.push_back('"');
}

// protobuf's escaping for ASCII; anything else is declined (protobuf escapes some code points
// and checks UTF-8 on its own terms).
bool AppendString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t plain = 0;  // start of the run of characters copied as they are
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>') continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (u >= 0x7f) return false;
        out += "\\u00";
        out.push_back(kHex[u >> 4]);
        out.push_back(kHex[u & 15]);
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out.push_back('"');
  return true;
}

// One scalar value (wire form `f`) of `field`.
bool AppendScalar(std::string& out, const FD& field, const WireField& f) {
  uint64_t v = f.scalar;
  switch (field.type()) {
    case FD::TYPE_INT32:
    case FD::TYPE_SFIXED32:
      AppendNumber(out, static_cast<int32_t>(v), false);
      return true;
    case FD::TYPE_SINT32: {
      auto u = static_cast<uint32_t>(v);
      AppendNumber(out, static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1)), false);
      return true;
    }
    case FD::TYPE_UINT32:
    case FD::TYPE_FIXED32:
      AppendNumber(out, static_cast<uint32_t>(v), false);
      return true;
    case FD::TYPE_INT64:
    case FD::TYPE_SFIXED64:
      AppendNumber(out, static_cast<int64_t>(v), true);
      return true;
    case FD::TYPE_SINT64:
      AppendNumber(out, static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1)), true);
      return true;
    case FD::TYPE_UINT64:
    case FD::TYPE_FIXED64:
      AppendNumber(out, v, true);
      return true;
    case FD::TYPE_BOOL:
      out += v != 0 ? "true" : "false";
      return true;
    case FD::TYPE_ENUM: {
      const pb::EnumValueDescriptor* value =
          field.enum_type()->FindValueByNumber(static_cast<int32_t>(v));
      if (value == nullptr) return false;
      out.push_back('"');
      out += value->name();
      out.push_back('"');
      return true;
    }
    case FD::TYPE_STRING:
      return AppendString(out, f.data);
    default:
      return false;
  }
}

bool AppendDefault(std::string& out, const FD& field) {
  WireField zero;
  return AppendScalar(out, field, zero);
}

// `width` decimal digits of `v` at `at`; returns the end.
char* PutDigits(char* at, int64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    at[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return at + width;
}

// google.protobuf.Timestamp as protobuf prints it: RFC 3339 in UTC, 0, 3, 6 or 9 digits of
// fraction; false outside protobuf's range (0001-01-01 to 9999-12-31).
bool AppendTimestamp(std::string& out, std::string_view bytes) {
  int64_t seconds = 0;
  int64_t nanos = 0;
  bool seen_seconds = false, seen_nanos = false;
  WireReader reader(bytes);
  WireField f;
  while (reader.Next(f)) {
    if (f.wire_type != 0) return false;
    if (f.number == 1 && !seen_seconds) {
      seconds = static_cast<int64_t>(f.scalar);
      seen_seconds = true;
    } else if (f.number == 2 && !seen_nanos) {
      nanos = static_cast<int32_t>(f.scalar);
      seen_nanos = true;
    } else {
      return false;
    }
  }
  if (reader.failed()) return false;
  if (seconds < -62'135'596'800 || seconds > 253'402'300'799 || nanos < 0 || nanos > 999'999'999) {
    return false;
  }
  int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
  int64_t in_day = seconds - days * 86400;
  // Days to a civil date (H. Hinnant's algorithm).
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t day = doy - (153 * mp + 2) / 5 + 1;
  int64_t month = mp < 10 ? mp + 3 : mp - 9;
  int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  char text[40];  // "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ", written once into `out`
  char* p = text;
  *p++ = '"';
  p = PutDigits(p, year, 4);
  *p++ = '-';
  p = PutDigits(p, month, 2);
  *p++ = '-';
  p = PutDigits(p, day, 2);
  *p++ = 'T';
  p = PutDigits(p, in_day / 3600, 2);
  *p++ = ':';
  p = PutDigits(p, in_day / 60 % 60, 2);
  *p++ = ':';
  p = PutDigits(p, in_day % 60, 2);
  if (nanos != 0) {
    *p++ = '.';
    if (nanos % 1'000'000 == 0) {
      p = PutDigits(p, nanos / 1'000'000, 3);
    } else if (nanos % 1000 == 0) {
      p = PutDigits(p, nanos / 1000, 6);
    } else {
      p = PutDigits(p, nanos, 9);
    }
  }
  *p++ = 'Z';
  *p++ = '"';
  out.append(text, p);
  return true;
}

bool AppendMessage(std::string& out, std::string_view bytes, const pb::Descriptor& type, int depth);

// One value of `field` (a message, or a scalar in wire form).
bool AppendValue(std::string& out, const FD& field, const WireField& f, int depth) {
  if (field.type() != FD::TYPE_MESSAGE) return AppendScalar(out, field, f);
  const pb::Descriptor& sub = *field.message_type();
  if (sub.well_known_type() == pb::Descriptor::WELLKNOWNTYPE_TIMESTAMP) {
    return AppendTimestamp(out, f.data);
  }
  return AppendMessage(out, f.data, sub, depth + 1);
}

// Whether the type's own fields are all printed here (its nested types are checked as met).
bool Printable(const pb::Descriptor& type) {
  if (type.file()->syntax() != pb::FileDescriptor::SYNTAX_PROTO3) return false;
  if (type.well_known_type() != pb::Descriptor::WELLKNOWNTYPE_UNSPECIFIED) return false;
  if (type.oneof_decl_count() > 0 || type.field_count() > 64 || type.options().map_entry()) {
    return false;
  }
  for (int i = 0; i < type.field_count(); ++i) {
    const FD& field = *type.field(i);
    if (WireTypeOf(field) < 0 || field.is_map()) return false;
  }
  return true;
}

// Printable(), remembered for the last types met on this thread (descriptors never change).
bool PrintableCached(const pb::Descriptor& type) {
  struct Known {
    const pb::Descriptor* type = nullptr;
    bool printable = false;
  };
  thread_local Known known[8];
  thread_local unsigned next = 0;
  for (const Known& k : known) {
    if (k.type == &type) return k.printable;
  }
  Known& slot = known[next++ % 8];
  slot = Known{&type, Printable(type)};
  return slot.printable;
}

bool AppendMessage(std::string& out, std::string_view bytes, const pb::Descriptor& type,
                   int depth) {
  if (depth > 32 || !PrintableCached(type)) return false;
  // Every field known, of its wire type (a repeated scalar may be packed), a singular one once.
  uint64_t seen = 0;
  uint32_t first_at[64];  // where each present field first occurs (a singular one: only)
  WireReader reader(bytes);
  WireField f;
  size_t at = 0;
  while (reader.Next(f)) {
    // Fields numbered 1..n in order (most messages): no lookup.
    const FD* field =
        f.number <= static_cast<uint32_t>(type.field_count()) &&
                type.field(static_cast<int>(f.number) - 1)->number() == static_cast<int>(f.number)
            ? type.field(static_cast<int>(f.number) - 1)
            : type.FindFieldByNumber(static_cast<int>(f.number));
    if (field == nullptr) return false;
    int expected = WireTypeOf(*field);
    bool packed = field->is_repeated() && expected != 2 && f.wire_type == 2;
    if (f.wire_type != expected && !packed) return false;
    uint64_t bit = uint64_t{1} << field->index();
    if (!field->is_repeated() && (seen & bit) != 0) return false;
    if ((seen & bit) == 0) first_at[field->index()] = static_cast<uint32_t>(at);
    seen |= bit;
    at = bytes.size() - reader.left();
  }
  if (reader.failed()) return false;
  out.push_back('{');
  // protobuf prints a present google.protobuf.Timestamp after every other field (its printer
  // makes the timestamp's node when the value comes, after the nodes of the type's other fields),
  // so those come second here too.
  auto timestamp = [&type](int i) {
    const FD& field = *type.field(i);
    return !field.is_repeated() && field.type() == FD::TYPE_MESSAGE &&
           field.message_type()->well_known_type() == pb::Descriptor::WELLKNOWNTYPE_TIMESTAMP;
  };
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < type.field_count(); ++i) {
      const FD& field = *type.field(i);
      bool present = (seen & (uint64_t{1} << i)) != 0;
      if (!present && !field.is_repeated() && field.type() == FD::TYPE_MESSAGE) continue;
      if (timestamp(i) != (pass == 1)) continue;
      if (out.back() != '{') out.push_back(',');
      out.push_back('"');
      out += field.json_name();
      out += "\":";
      if (!present) {
        if (field.is_repeated()) {
          out += "[]";
        } else if (!AppendDefault(out, field)) {
          return false;
        }
        continue;
      }
      if (field.is_repeated()) out.push_back('[');
      bool first = true;
      WireReader values(bytes.substr(first_at[i]));
      while (values.Next(f)) {
        if (f.number != static_cast<uint32_t>(field.number())) continue;
        int expected = WireTypeOf(field);
        if (f.wire_type == 2 && expected != 2) {  // packed
          WireReader packed(f.data);
          WireField one;
          one.wire_type = expected;
          while (!packed.done()) {
            bool read = expected == 0 ? packed.Varint(one.scalar)
                                      : packed.Fixed(expected == 1 ? 8 : 4, one.scalar);
            if (!read) return false;
            if (!first) out.push_back(',');
            first = false;
            if (!AppendValue(out, field, one, depth)) return false;
          }
          continue;
        }
        if (!first) out.push_back(',');
        first = false;
        if (!AppendValue(out, field, f, depth)) return false;
        if (!field.is_repeated()) break;
      }
      if (field.is_repeated()) out.push_back(']');
    }
  }
  out.push_back('}');
  return true;
}

}  // namespace

bool AppendJsonFromWire(std::string_view bytes, const pb::Descriptor& type, std::string& out) {
  out.reserve(out.size() + 2 * bytes.size() + 128);  // names and quotes around the values
  return AppendMessage(out, bytes, type, 0);
}

}  // namespace percore::gateway
