#pragma once
// Threading contract: immutable once built; Verify() is const and may run on any shard at once
// (libjwt and OpenSSL keep no shared mutable state for a verification). A reload builds a new
// verifier.
//
// Checks a compact JWS (header.payload.signature) the way the security issue asks: the token's
// size is bounded before anything is decoded; the header's `alg` must be the algorithm of a
// configured key (chosen by `kid` when the token names one), so `alg: none` and HS/RS confusion
// never reach a signature check; libjwt (Debian's libjwt, OpenSSL underneath) checks the
// signature; then `exp` (required), `nbf`, `iss` and `aud` against the options, with the leeway,
// and `sub` (required). Every failure is UNAUTHENTICATED "Invalid authentication token: <why>",
// where the reason names the rule (expired, bad signature, ...) and never echoes the token.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/auth/jwt_key.h"
#include "core/auth/principal.h"
#include "core/base/result.h"

namespace percore::auth {

struct JwtVerifierOptions {
  std::vector<JwtKey> keys;
  std::string issuer;    // empty: `iss` not checked
  std::string audience;  // empty: `aud` not checked
  std::chrono::seconds leeway{0};
  size_t max_token_bytes = 8 * 1024;
};

class JwtVerifier {
 public:
  explicit JwtVerifier(JwtVerifierOptions options) : options_(std::move(options)) {}

  Result<Principal> Verify(std::string_view token, std::chrono::system_clock::time_point now) const;
  const JwtVerifierOptions& options() const { return options_; }

 private:
  const JwtVerifierOptions options_;
};

// The token of an `authorization` value "Bearer <token>" (the scheme is case-insensitive, RFC
// 7235 2.1). UNAUTHENTICATED "Missing authentication token" when there is no value, "Invalid
// authentication token: ..." when it is not a bearer token.
// "Bearer " (the scheme and one space): what precedes the token in the canonical form.
inline constexpr size_t kBearerPrefixBytes = 7;
Result<std::string_view> BearerToken(std::optional<std::string_view> authorization);

}  // namespace percore::auth
