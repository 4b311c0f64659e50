#include "core/base/uuid.h"

namespace percore {
namespace {

constexpr char kHex[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string Uuid::ToString() const {
  char text[36];
  char* out = text;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *out++ = '-';
    *out++ = kHex[bytes[i] >> 4];
    *out++ = kHex[bytes[i] & 0xf];
  }
  return std::string(text, sizeof(text));
}

std::optional<Uuid> Uuid::Parse(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  Uuid id;
  size_t out = 0;
  for (size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    int hi = HexValue(text[i]);
    int lo = HexValue(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id.bytes[out++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
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
