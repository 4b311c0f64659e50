#pragma once
// Threading contract: pure functions.
//
// base64url without padding (RFC 4648 section 5), as JWTs and JWKs use it. Decoding is strict:
// a character outside the alphabet, padding, or a length no encoder produces is an error
// (std::nullopt), so two spellings never decode to the same bytes.

#include <optional>
#include <string>
#include <string_view>

namespace percore::auth {

std::optional<std::string> Base64UrlDecode(std::string_view text);
std::string Base64UrlEncode(std::string_view bytes);

}  // namespace percore::auth
