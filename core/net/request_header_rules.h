#pragma once
// Threading contract: pure functions and a plain value; no shared state.
//
// RFC 9113's rules for a request's fields (§8.2, §8.3; what makes a request malformed, §8.1.1),
// applied by Stream as each field arrives. nghttp2 applies them itself unless its session is
// made with no_http_messaging; percore's sessions are (connection.cc), because nghttp2 checked
// every field's every byte through a lookup table on every call — about 2,400 of a GetUser's
// 20,000 instructions, and the whole of what an `authorization` indexed by the client (grpc-go,
// ghz) cost. These checks take what nghttp2 took and refuse what it refused (the same cases are
// in tests/core/net/native_wire_test.py's MalformedRequestTest), at a few instructions per
// eight bytes of value.

#include <cstdint>
#include <optional>
#include <string_view>

namespace percore::net {

// A regular field's name: one or more lower-case token characters (RFC 9110 §5.1, RFC 9113
// §8.2.1: upper case is malformed in HTTP/2).
bool ValidFieldName(std::string_view name);

// A field's value (RFC 9113 §8.2.1): no NUL, CR, LF or other control character but HTAB, no DEL,
// no leading or trailing space or tab; obs-text (0x80-0xff) allowed. Empty is valid.
bool ValidFieldValue(std::string_view value);

// The request pseudo-headers percore serves (no extended CONNECT: `:protocol` is unknown).
enum class PseudoHeader : uint8_t { kMethod = 1, kScheme = 2, kPath = 4, kAuthority = 8 };
std::optional<PseudoHeader> PseudoHeaderOf(std::string_view name);
// The value rules nghttp2 applies to each (a token method, a path of visible characters, an
// authority's characters, an RFC 3986 scheme), none of them empty (none of these admits a space,
// so none is all whitespace, which nghttp2 also refuses).
bool ValidPseudoValue(PseudoHeader which, std::string_view value);

// `content-length`: digits only, no overflow; nullopt when not a length.
std::optional<int64_t> ParseContentLength(std::string_view value);

// `te` may only be "trailers" (any case).
bool ValidTe(std::string_view value);

}  // namespace percore::net
