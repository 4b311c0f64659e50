#pragma once
// Threading contract: plain values, loaded on the control thread before the server starts (and
// again on a reload, into new objects); read-only afterwards, so shards may share them.
//
// The keys a JwtVerifier accepts, each bound to exactly one algorithm: a shared secret is for
// HS256, an RSA public key for RS256, an EC public key for ES256/ES384/ES512 by its curve. Binding
// the algorithm to the key (not taking it from the token) is what stops the algorithm-confusion
// attacks: a token saying HS256 is never checked against an RSA key used as an HMAC secret, and
// `alg: none` has no key at all.

#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"

namespace percore::auth {

enum class JwtAlgorithm { kHs256, kRs256, kEs256, kEs384, kEs512 };

// "HS256", "RS256", ...
std::string_view JwtAlgorithmName(JwtAlgorithm algorithm);

struct JwtKey {
  std::string kid;  // empty: the key matches tokens without a kid (and any kid if it is alone)
  JwtAlgorithm algorithm = JwtAlgorithm::kHs256;
  std::string material;  // the secret's bytes, or the public key in PEM (what libjwt takes)
};

// --jwt-secret-file: the file's bytes (one trailing newline dropped, as `echo` writes one).
// At least 32 bytes (RFC 7518 3.2: a key as long as the hash).
Result<JwtKey> LoadSecretFile(const std::string& path);
// --jwt-public-key: one PEM public key (RSA → RS256; EC on P-256/P-384/P-521 → ES256/384/512).
Result<JwtKey> LoadPublicKeyFile(const std::string& path);
// Parses a PEM public key (as LoadPublicKeyFile, without the file).
Result<JwtKey> PublicKeyFromPem(std::string pem);
// --jwt-jwks: a JSON Web Key Set ({"keys": [...]}, RFC 7517): RSA keys (n, e) and EC keys
// (crv, x, y), each with its kid; keys for other uses ("use": "enc") or of other types are
// skipped; none usable is an error.
Result<std::vector<JwtKey>> LoadJwksFile(const std::string& path);
Result<std::vector<JwtKey>> KeysFromJwks(std::string_view json);

}  // namespace percore::auth
