#pragma once
// Threading contract: a pure function over bytes the caller owns; no state.
//
// Where a request's `authorization` field sits in an HPACK header block (RFC 7541 §6), found
// without decoding anything: the block's representations are walked by their lengths only.
// Only a literal that leaves the dynamic table alone counts (§6.2.2 without indexing, §6.2.3
// never indexed) — what nghttp2-based clients (never indexed, Huffman-coded value) and libgrpc
// (without indexing, raw) send on every call — and only when its name is static entry 23 or the
// raw literal name "authorization". The first such literal is the one found (the walk stops
// there: nghttp2 parses the rest, and hands a second `authorization` to the stream, which then
// refuses the call for carrying two). A block that does not parse up to it yields nothing:
// nghttp2 decodes it as usual and applies its own rules.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace percore::net {

struct AuthorizationLiteral {
  size_t begin = 0;  // the whole representation, as offsets into the block
  size_t end = 0;
  // Its value's string literal as sent: the H bit and length prefix, then the octets (Huffman
  // or raw). Equal bytes decode to equal values, so this is a key for the decoded value.
  std::string_view wire_value;
};

std::optional<AuthorizationLiteral> FindAuthorizationLiteral(const uint8_t* block, size_t size);

// The value of an `authorization` string literal (AuthorizationLiteral::wire_value), decoded by
// nghttp2's own HPACK decoder (a standalone inflater, one per call: a never-indexed field leaves
// the dynamic table alone) and checked as nghttp2 checks every received field value (RFC 9113
// §8.2.1). nullopt: it does not decode, or the value is not a valid field value.
std::optional<std::string> DecodeAuthorizationValue(std::string_view wire_value);

}  // namespace percore::net
