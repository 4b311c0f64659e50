#include "core/base/uuid.h"

#include <cstring>

namespace percore {
namespace {

// Table-driven (these run several times per order): each byte's two digits, and each
// character's digit value (-1: not hex).
struct HexTables {
  char pairs[256][2];
  int8_t value[256];
};

constexpr HexTables MakeHexTables() {
  constexpr char kHex[] = "0123456789abcdef";
  HexTables t{};
  for (int i = 0; i < 256; ++i) {
    t.pairs[i][0] = kHex[i >> 4];
    t.pairs[i][1] = kHex[i & 0xf];
    t.value[i] = -1;
  }
  for (int i = 0; i < 10; ++i) t.value['0' + i] = static_cast<int8_t>(i);
  for (int i = 0; i < 6; ++i) {
    t.value['a' + i] = static_cast<int8_t>(10 + i);
    t.value['A' + i] = static_cast<int8_t>(10 + i);
  }
  return t;
}

constexpr HexTables kHexTables = MakeHexTables();

}  // namespace

std::string Uuid::ToString() const {
  char text[36];
  char* out = text;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *out++ = '-';
    std::memcpy(out, kHexTables.pairs[bytes[i]], 2);
    out += 2;
  }
  return std::string(text, sizeof(text));
}

std::optional<Uuid> Uuid::Parse(std::string_view text) {
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
      text[23] != '-') {
    return std::nullopt;
  }
  Uuid id;
  int bad = 0;  // any digit's -1 makes it negative
  size_t i = 0;
  for (size_t out = 0; out < id.bytes.size(); ++out) {
    if (i == 8 || i == 13 || i == 18 || i == 23) ++i;
    int hi = kHexTables.value[static_cast<uint8_t>(text[i])];
    int lo = kHexTables.value[static_cast<uint8_t>(text[i + 1])];
    bad |= hi | lo;
    id.bytes[out] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  if (bad < 0) return std::nullopt;
  return id;
}

Uuid Uuid::FromBytes(std::string_view sixteen_bytes) {
  Uuid id;
  for (size_t i = 0; i < id.bytes.size() && i < sixteen_bytes.size(); ++i) {
    id.bytes[i] = static_cast<uint8_t>(sixteen_bytes[i]);
  }
  return id;
}

Status ParseUuidField(std::string_view text, std::string_view field, Uuid* id) {
  if (text.empty()) {
    return Status(StatusCode::kInvalidArgument, std::string(field) + " is required");
  }
  std::optional<Uuid> parsed = Uuid::Parse(text);
  if (!parsed) {
    std::string shown(text.substr(0, 64));
    return Status(StatusCode::kInvalidArgument,
                  std::string(field) + " must be a UUID (8-4-4-4-12 hex), got \"" + shown +
                      (text.size() > shown.size() ? "...\"" : "\""));
  }
  *id = *parsed;
  return Status();
}

Uuid UuidV7Generator::Make(uint64_t stamp, uint64_t random) {
  Uuid id;
  uint64_t ms = stamp >> 12;
  uint64_t fraction = stamp & 0xfff;
  for (int i = 0; i < 6; ++i) id.bytes[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
  id.bytes[6] = static_cast<uint8_t>(0x70 | (fraction >> 8));  // version 7
  id.bytes[7] = static_cast<uint8_t>(fraction);
  id.bytes[8] = static_cast<uint8_t>(0x80 | ((random >> 56) & 0x3f));  // variant 10
  for (int i = 9; i < 16; ++i) id.bytes[i] = static_cast<uint8_t>(random >> (8 * (15 - i)));
  return id;
}

}  // namespace percore
