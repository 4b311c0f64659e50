#pragma once
// Threading contract: pure functions over bytes; any thread.
//
// The parts of gRPC's wire protocol over HTTP/2 (grpc/grpc doc/PROTOCOL-HTTP2.md) that are plain
// text: the grpc-timeout header, percent-encoding of grpc-message, base64 of -bin metadata, the
// decimal grpc-status. HTTP/2 itself (framing, HPACK, flow control) is libnghttp2's.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace percore::net {

// "1-8 digits then H M S m u n" into a duration; nullopt when malformed.
std::optional<std::chrono::nanoseconds> ParseGrpcTimeout(std::string_view value);

// grpc-message: every byte outside 0x20-0x7E, and '%', as %XX (UTF-8 stays as its bytes).
void PercentEncode(std::string_view in, std::string* out);
bool NeedsPercentEncoding(std::string_view in);

// Standard base64, padded or not (gRPC accepts both); false on a byte outside the alphabet.
bool Base64Decode(std::string_view in, std::string* out);
void Base64Encode(std::string_view in, std::string* out);

// content-type is application/grpc, optionally followed by '+' or ';' and a suffix.
bool IsGrpcContentType(std::string_view value);

// The 5-byte message prefix: the compressed flag and the big-endian length.
struct MessagePrefix {
  uint8_t flags;
  uint32_t length;
};
inline MessagePrefix ReadPrefix(const uint8_t* p) {
  return {p[0], (uint32_t{p[1]} << 24) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 8) | p[4]};
}
inline void WritePrefix(uint8_t* p, uint32_t length) {
  p[0] = 0;
  p[1] = static_cast<uint8_t>(length >> 24);
  p[2] = static_cast<uint8_t>(length >> 16);
  p[3] = static_cast<uint8_t>(length >> 8);
  p[4] = static_cast<uint8_t>(length);
}

}  // namespace percore::net
