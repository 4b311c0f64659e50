#include "core/auth/jwt_verifier.h"

#include <jwt.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/auth/base64url.h"

namespace percore::auth {
namespace {

using Clock = std::chrono::system_clock;

Status Invalid(std::string_view why) {
  return Status(StatusCode::kUnauthenticated, "Invalid authentication token: " + std::string(why));
}

struct JwtFree {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};

std::optional<nlohmann::json> DecodeJsonObject(std::string_view segment) {
  auto bytes = Base64UrlDecode(segment);
  if (!bytes) return std::nullopt;
  nlohmann::json doc = nlohmann::json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  return doc;
}

// A NumericDate (RFC 7519 2): seconds since the epoch, possibly fractional.
std::optional<Clock::time_point> NumericDate(const nlohmann::json& value) {
  if (!value.is_number()) return std::nullopt;
  double seconds = value.get<double>();
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e11) return std::nullopt;
  return Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)));
}

bool AudienceMatches(const nlohmann::json& aud, const std::string& expected) {
  if (aud.is_string()) return aud.get<std::string>() == expected;
  if (!aud.is_array()) return false;
  for (const auto& one : aud) {
    if (one.is_string() && one.get<std::string>() == expected) return true;
  }
  return false;
}

// roles: ["a", "b"] (or one string); else scope: "a b".
Result<std::vector<std::string>> RolesOf(const nlohmann::json& claims) {
  std::vector<std::string> roles;
  if (auto it = claims.find("roles"); it != claims.end()) {
    if (it->is_string()) {
      roles.push_back(it->get<std::string>());
    } else if (it->is_array()) {
      for (const auto& role : *it) {
        if (!role.is_string()) return Invalid("roles must be strings");
        roles.push_back(role.get<std::string>());
      }
    } else {
      return Invalid("roles must be a list of strings");
    }
  } else if (auto scope = claims.find("scope"); scope != claims.end()) {
    if (!scope->is_string()) return Invalid("scope must be a string");
    std::string_view rest = scope->get_ref<const std::string&>();
    while (!rest.empty()) {
      size_t space = rest.find(' ');
      std::string_view one = rest.substr(0, space);
      if (!one.empty()) roles.emplace_back(one);
      if (space == std::string_view::npos) break;
      rest.remove_prefix(space + 1);
    }
  }
  return roles;
}

}  // namespace

Result<Principal> JwtVerifier::Verify(std::string_view token, Clock::time_point now) const {
  if (token.size() > options_.max_token_bytes) return Invalid("too long");
  size_t first = token.find('.');
  size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return Invalid("not a compact JWS (three parts)");
  }
  std::string_view signature = token.substr(second + 1);
  if (signature.empty()) return Invalid("unsigned");
  auto header = DecodeJsonObject(token.substr(0, first));
  if (!header) return Invalid("malformed header");
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string()) return Invalid("header without alg");
  const std::string& alg_name = alg->get_ref<const std::string&>();
  // Extensions that must be understood (RFC 7515 4.1.11): none are.
  if (header->contains("crit")) return Invalid("unsupported crit header");

  std::optional<std::string> kid;
  if (auto it = header->find("kid"); it != header->end()) {
    if (!it->is_string()) return Invalid("kid must be a string");
    kid = it->get<std::string>();
  }
  // The keys this token may be checked with: the algorithm is the key's, never the token's.
  std::vector<const JwtKey*> candidates;
  bool kid_known = !kid.has_value();
  for (const JwtKey& key : options_.keys) {
    // A token naming a kid is checked with that key; a single unnamed key (--jwt-public-key,
    // --jwt-secret-file) takes any kid, as identity providers add one unasked.
    bool named = kid && key.kid == *kid;
    bool single_unnamed = kid && key.kid.empty() && options_.keys.size() == 1;
    if (kid && !named && !single_unnamed) continue;
    kid_known = true;
    if (JwtAlgorithmName(key.algorithm) == alg_name) candidates.push_back(&key);
  }
  if (kid && !kid_known) return Invalid("unknown kid");
  if (candidates.empty()) return Invalid("algorithm " + alg_name.substr(0, 16) + " not accepted");

  const std::string text(token);  // libjwt reads a NUL-terminated string
  bool verified = false;
  for (const JwtKey* key : candidates) {
    jwt_t* raw = nullptr;
    int rc =
        jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(key->material.data()),
                   static_cast<int>(key->material.size()));
    std::unique_ptr<jwt_t, JwtFree> decoded(raw);
    if (rc == 0 && decoded &&
        JwtAlgorithmName(key->algorithm) == jwt_alg_str(jwt_get_alg(decoded.get()))) {
      verified = true;
      break;
    }
  }
  if (!verified) return Invalid("bad signature");

  auto claims = DecodeJsonObject(token.substr(first + 1, second - first - 1));
  if (!claims) return Invalid("malformed claims");
  auto exp_it = claims->find("exp");
  if (exp_it == claims->end()) return Invalid("no exp");
  auto exp = NumericDate(*exp_it);
  if (!exp) return Invalid("exp is not a date");
  if (now > *exp + options_.leeway) return Invalid("expired");
  if (auto nbf_it = claims->find("nbf"); nbf_it != claims->end()) {
    auto nbf = NumericDate(*nbf_it);
    if (!nbf) return Invalid("nbf is not a date");
    if (now + options_.leeway < *nbf) return Invalid("not yet valid");
  }
  if (!options_.issuer.empty()) {
    auto iss = claims->find("iss");
    if (iss == claims->end() || !iss->is_string() || *iss != options_.issuer) {
      return Invalid("wrong issuer");
    }
  }
  if (!options_.audience.empty()) {
    auto aud = claims->find("aud");
    if (aud == claims->end() || !AudienceMatches(*aud, options_.audience)) {
      return Invalid("wrong audience");
    }
  }
  auto sub = claims->find("sub");
  if (sub == claims->end() || !sub->is_string() || sub->get_ref<const std::string&>().empty()) {
    return Invalid("no sub");
  }
  auto roles = RolesOf(*claims);
  if (!roles.ok()) return roles.status();
  return Principal{.subject = sub->get<std::string>(),
                   .roles = *std::move(roles),
                   .expires_at = *exp + options_.leeway};
}

Result<std::string_view> BearerToken(std::optional<std::string_view> authorization) {
  if (!authorization || authorization->empty()) {
    return Status(StatusCode::kUnauthenticated, "Missing authentication token");
  }
  std::string_view value = *authorization;
  constexpr std::string_view kScheme = "bearer ";
  static_assert(kScheme.size() == kBearerPrefixBytes);
  if (value.size() <= kScheme.size()) return Invalid("not a bearer token");
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = value[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return Invalid("not a bearer token");
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return Status(StatusCode::kUnauthenticated, "Missing authentication token");
  return value;
}

}  // namespace percore::auth
