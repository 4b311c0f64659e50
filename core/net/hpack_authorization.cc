// FindAuthorizationLiteral: a walk over an HPACK block's representations by their lengths.
#include "core/net/hpack_authorization.h"

#include <nghttp2/nghttp2.h>

#include <memory>

namespace percore::net {
namespace {

// Past this an index or a length is not from a request this server takes (the frame is at most
// 16 KiB); the block is left to nghttp2, which refuses it.
constexpr uint64_t kMaxInteger = 1 << 24;
constexpr uint64_t kAuthorizationIndex = 23;  // RFC 7541 Appendix A
constexpr std::string_view kRawAuthorizationName =
    "\x0d"
    "authorization";  // length 13, not H

// RFC 7541 §5.1: the integer with a `prefix_bits`-bit prefix at *pos; false when truncated or
// too large.
bool ReadInteger(const uint8_t* block, size_t size, size_t* pos, int prefix_bits, uint64_t* out) {
  const uint64_t mask = (uint64_t{1} << prefix_bits) - 1;
  uint64_t value = block[(*pos)++] & mask;
  if (value < mask) {
    *out = value;
    return true;
  }
  for (int shift = 0; shift <= 21; shift += 7) {
    if (*pos >= size) return false;
    const uint8_t byte = block[(*pos)++];
    value += uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) {
      *out = value;
      return value <= kMaxInteger;
    }
  }
  return false;
}

// §5.2: steps over the string literal at *pos; `literal` is its bytes, prefix included.
bool SkipString(const uint8_t* block, size_t size, size_t* pos, std::string_view* literal) {
  if (*pos >= size) return false;
  const size_t start = *pos;
  uint64_t length = 0;
  if (!ReadInteger(block, size, pos, 7, &length) || length > size - *pos) return false;
  *pos += length;
  *literal = {reinterpret_cast<const char*>(block + start), *pos - start};
  return true;
}

}  // namespace

std::optional<AuthorizationLiteral> FindAuthorizationLiteral(const uint8_t* block, size_t size) {
  size_t pos = 0;
  bool field_seen = false;  // a table size update after a field is an HPACK error (§4.2)
  while (pos < size) {
    const size_t begin = pos;
    const uint8_t first = block[pos];
    uint64_t index = 0;
    if ((first & 0x80) != 0) {  // §6.1 indexed field
      if (!ReadInteger(block, size, &pos, 7, &index) || index == 0) return std::nullopt;
      field_seen = true;
      continue;
    }
    if ((first & 0xe0) == 0x20) {  // §6.3 dynamic table size update
      // After a field it is nghttp2's to refuse (COMPRESSION_ERROR): cutting the literal before
      // it could make it legal.
      if (field_seen || !ReadInteger(block, size, &pos, 5, &index)) return std::nullopt;
      continue;
    }
    const bool first_field = !field_seen;
    field_seen = true;
    // §6.2: a literal, with incremental indexing (6-bit index) or not (4 bits).
    const bool indexing = (first & 0x40) != 0;
    if (!ReadInteger(block, size, &pos, indexing ? 6 : 4, &index)) return std::nullopt;
    std::string_view name;
    std::string_view value;
    if (index == 0 && !SkipString(block, size, &pos, &name)) return std::nullopt;
    if (!SkipString(block, size, &pos, &value)) return std::nullopt;
    if (indexing) continue;  // it enters the dynamic table: nghttp2 must see it
    if (index != kAuthorizationIndex && !(index == 0 && name == kRawAuthorizationName)) continue;
    // A table size update right after a first field is an error nghttp2 must see: cut, the
    // literal would leave the update first in the block, where it is legal.
    if (first_field && pos < size && (block[pos] & 0xe0) == 0x20) return std::nullopt;
    // The first one. The rest of the block is nghttp2's to parse: a second `authorization`
    // reaches the stream from there, and the call is refused for carrying two.
    return AuthorizationLiteral{begin, pos, value};
  }
  return std::nullopt;
}

std::optional<std::string> DecodeAuthorizationValue(std::string_view wire_value) {
  nghttp2_hd_inflater* raw = nullptr;
  if (nghttp2_hd_inflate_new(&raw) != 0) return std::nullopt;
  std::unique_ptr<nghttp2_hd_inflater, decltype(&nghttp2_hd_inflate_del)> inflater(
      raw, &nghttp2_hd_inflate_del);
  // A block of one field: never indexed (0001), name static entry 23 (15 + 8), then the value.
  std::string block = {'\x1f', '\x08'};
  block.append(wire_value);
  const auto* in = reinterpret_cast<const uint8_t*>(block.data());
  size_t left = block.size();
  std::optional<std::string> value;
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    const ssize_t used = nghttp2_hd_inflate_hd2(inflater.get(), &nv, &flags, in, left, 1);
    if (used < 0) return std::nullopt;
    in += used;
    left -= static_cast<size_t>(used);
    if ((flags & NGHTTP2_HD_INFLATE_EMIT) != 0) {
      if (value) return std::nullopt;  // one field in, one out
      value.emplace(reinterpret_cast<const char*>(nv.value), nv.valuelen);
    }
    if ((flags & NGHTTP2_HD_INFLATE_FINAL) != 0) break;
    if (used == 0 && (flags & NGHTTP2_HD_INFLATE_EMIT) == 0) return std::nullopt;
  }
  if (!value || left != 0) return std::nullopt;
  if (nghttp2_check_header_value_rfc9113(reinterpret_cast<const uint8_t*>(value->data()),
                                         value->size()) == 0) {
    return std::nullopt;
  }
  return value;
}

}  // namespace percore::net
