#pragma once
// Threading contract: parsed once in main(); the verifier it builds is immutable and shared by
// every shard.
//
// The JWT flags of percore-server (issue 13): with none of them the server authenticates no one
// (the embedded quick start); with a key (--jwt-secret-file, --jwt-public-key or --jwt-jwks)
// every call but health and reflection needs `authorization: Bearer <token>` and passes the
// access policy (access_table.h). --peer-token-file is the token this server presents to its
// --peers (OrderService calling payment and inventory as the `service` role).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/auth/jwt_verifier.h"
#include "core/base/result.h"

namespace percore::server {

struct AuthFlags {
  std::string jwt_secret_file;
  std::string jwt_public_key;
  std::string jwt_jwks;
  std::string jwt_issuer;
  std::string jwt_audience;
  int jwt_leeway_seconds = 0;
  std::string peer_token_file;
  bool enabled() const {
    return !jwt_secret_file.empty() || !jwt_public_key.empty() || !jwt_jwks.empty();
  }
};

// If `arg` is one of the flags above: true when it parsed (its value taken with `take_value`,
// which returns nullopt after setting `error` when the value is missing), false with `error`
// naming the flag and the value. nullopt when `arg` is not an auth flag.
std::optional<bool> ParseAuthFlag(std::string_view arg,
                                  const std::function<std::optional<std::string>()>& take_value,
                                  AuthFlags* flags, std::string* error);
// After every flag: the combinations that make no sense (issuer without a key, ...).
bool CheckAuthFlags(const AuthFlags& flags, std::string* error);
std::string AuthUsage();

// The verifier the flags describe (keys loaded and checked now, so a bad file stops the start),
// or nullptr when auth is off.
Result<std::shared_ptr<const auth::JwtVerifier>> BuildJwtVerifier(const AuthFlags& flags);
// "Bearer <token>" from --peer-token-file, or "" without it.
Result<std::string> PeerAuthorization(const AuthFlags& flags);

}  // namespace percore::server
