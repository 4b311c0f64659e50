#include "services/server/auth_flags.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "core/auth/jwt_key.h"

namespace percore::server {

std::optional<bool> ParseAuthFlag(std::string_view arg,
                                  const std::function<std::optional<std::string>()>& take_value,
                                  AuthFlags* flags, std::string* error) {
  std::string* target = nullptr;
  if (arg == "--jwt-secret-file") target = &flags->jwt_secret_file;
  if (arg == "--jwt-public-key") target = &flags->jwt_public_key;
  if (arg == "--jwt-jwks") target = &flags->jwt_jwks;
  if (arg == "--jwt-issuer") target = &flags->jwt_issuer;
  if (arg == "--jwt-audience") target = &flags->jwt_audience;
  if (arg == "--peer-token-file") target = &flags->peer_token_file;
  if (target == nullptr && arg != "--jwt-leeway") return std::nullopt;
  std::optional<std::string> value = take_value();
  if (!value) return false;
  if (value->empty()) {
    *error = std::string(arg) + " wants a value";
    return false;
  }
  if (target != nullptr) {
    *target = *value;
    return true;
  }
  int seconds = -1;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), seconds);
  if (ec != std::errc() || end != value->data() + value->size() || seconds < 0 || seconds > 3600) {
    *error = "--jwt-leeway wants seconds from 0 to 3600, got \"" + *value + "\"";
    return false;
  }
  flags->jwt_leeway_seconds = seconds;
  return true;
}

bool CheckAuthFlags(const AuthFlags& flags, std::string* error) {
  int keys =
      !flags.jwt_secret_file.empty() + !flags.jwt_public_key.empty() + !flags.jwt_jwks.empty();
  if (keys > 1) {
    *error = "give one of --jwt-secret-file, --jwt-public-key and --jwt-jwks";
    return false;
  }
  if (keys == 0 &&
      (!flags.jwt_issuer.empty() || !flags.jwt_audience.empty() || flags.jwt_leeway_seconds != 0)) {
    *error =
        "--jwt-issuer, --jwt-audience and --jwt-leeway need a key (--jwt-secret-file, "
        "--jwt-public-key or --jwt-jwks)";
    return false;
  }
  return true;
}

std::string AuthUsage() {
  return R"(  --jwt-secret-file FILE      authenticate calls with HS256 JWTs signed with this secret
                              (at least 32 bytes); health and reflection stay open
  --jwt-public-key FILE       ... with RS256 (RSA) or ES256/384/512 (EC) JWTs: a PEM public key
  --jwt-jwks FILE             ... with the keys of a JWKS file, chosen by the token's kid
  --jwt-issuer ISS            the iss every token must carry (default: not checked)
  --jwt-audience AUD          an aud every token must carry (default: not checked)
  --jwt-leeway SECONDS        clock skew allowed for exp and nbf (default 0)
  --peer-token-file FILE      the token this server presents to its --peers (role service)
)";
}

Result<std::shared_ptr<const auth::JwtVerifier>> BuildJwtVerifier(const AuthFlags& flags) {
  if (!flags.enabled()) return std::shared_ptr<const auth::JwtVerifier>();
  auth::JwtVerifierOptions options;
  if (!flags.jwt_secret_file.empty()) {
    auto key = auth::LoadSecretFile(flags.jwt_secret_file);
    if (!key.ok()) return Status(key.code(), "--jwt-secret-file: " + key.status().message());
    options.keys.push_back(*std::move(key));
  } else if (!flags.jwt_public_key.empty()) {
    auto key = auth::LoadPublicKeyFile(flags.jwt_public_key);
    if (!key.ok()) return Status(key.code(), "--jwt-public-key: " + key.status().message());
    options.keys.push_back(*std::move(key));
  } else {
    auto keys = auth::LoadJwksFile(flags.jwt_jwks);
    if (!keys.ok()) return Status(keys.code(), "--jwt-jwks: " + keys.status().message());
    options.keys = *std::move(keys);
  }
  options.issuer = flags.jwt_issuer;
  options.audience = flags.jwt_audience;
  options.leeway = std::chrono::seconds(flags.jwt_leeway_seconds);
  return std::shared_ptr<const auth::JwtVerifier>(
      std::make_shared<auth::JwtVerifier>(std::move(options)));
}

Result<std::string> PeerAuthorization(const AuthFlags& flags) {
  if (flags.peer_token_file.empty()) return std::string();
  std::ifstream in(flags.peer_token_file);
  if (!in) {
    return Status(StatusCode::kInvalidArgument,
                  "--peer-token-file: cannot read " + flags.peer_token_file);
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  if (token.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  "--peer-token-file: " + flags.peer_token_file + " is empty");
  }
  return "Bearer " + token;
}

}  // namespace percore::server
