#pragma once
// Threading contract: one per Connection, used on its shard's thread only.
//
// The `authorization` value a connection's client sent last, keyed by the bytes of its HPACK
// string literal (RFC 7541 §5.2: H bit, length, octets). A client reusing its token sends the
// same literal on every call — nghttp2-based clients never index the field and Huffman-code it,
// libgrpc sends it raw without indexing — and nghttp2 would Huffman-decode and validate all of it
// again each time (about 5,000 instructions for a 170-byte token: more than the rest of a
// GetUser's authentication). Equal literal bytes decode to an equal value, so a call whose
// literal matches is handed the value decoded and checked for an earlier one.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace percore::net {

class AuthorizationMemo {
 public:
  // The client's literal against the remembered one. The comparison's time depends on the
  // length only (no early exit; the barrier keeps the compiler from adding one), so a caller
  // sharing a proxy's connection learns nothing about the remembered token byte by byte. What
  // still shows is whether the whole literal matched (a match skips the decoding, ~5,000
  // instructions) — a yes/no on an entire high-entropy token, which guessing cannot use.
  bool Matches(std::string_view wire) const {
    if (wire_.empty() || wire.size() != wire_.size()) return false;
    const char* a = wire.data();
    const char* b = wire_.data();
    const size_t size = wire.size();
    uint64_t difference = 0;
    size_t i = 0;
    for (; i + sizeof(uint64_t) <= size; i += sizeof(uint64_t)) {
      uint64_t x;
      uint64_t y;
      std::memcpy(&x, a + i, sizeof x);
      std::memcpy(&y, b + i, sizeof y);
      difference |= x ^ y;
      asm volatile("" : "+r"(difference));
    }
    for (; i < size; ++i) difference |= static_cast<uint8_t>(a[i] ^ b[i]);
    return difference == 0;
  }
  const std::string& value() const { return value_; }
  void Remember(std::string_view wire, std::string value) {
    wire_.assign(wire);
    value_ = std::move(value);
  }

 private:
  std::string wire_;  // empty: nothing remembered yet
  std::string value_;
};

}  // namespace percore::net
