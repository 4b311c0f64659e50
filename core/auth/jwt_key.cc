#include "core/auth/jwt_key.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/auth/base64url.h"

namespace percore::auth {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct CtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct BldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Invalid("cannot read " + path);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// The algorithm a public key is for, or an error naming what is wrong with it.
Result<JwtAlgorithm> AlgorithmOf(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(key) < 2048) return Invalid("RSA key shorter than 2048 bits");
      return JwtAlgorithm::kRs256;
    case EVP_PKEY_EC: {
      char group[64] = {};
      size_t length = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                         &length) != 1) {
        return Invalid("EC key without a named curve");
      }
      std::string_view name(group, length);
      if (name == "prime256v1" || name == "P-256") return JwtAlgorithm::kEs256;
      if (name == "secp384r1" || name == "P-384") return JwtAlgorithm::kEs384;
      if (name == "secp521r1" || name == "P-521") return JwtAlgorithm::kEs512;
      return Invalid("EC curve " + std::string(name) + " is not one JWT signs with");
    }
    default:
      return Invalid("public key is neither RSA nor EC");
  }
}

Result<std::string> ToPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_PUBKEY(out.get(), key) != 1) return Invalid("cannot write PEM");
  char* data = nullptr;
  long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

Result<std::string> JwkField(const nlohmann::json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return Invalid(std::string("JWK without \"") + name + "\"");
  }
  auto bytes = Base64UrlDecode(it->get<std::string>());
  if (!bytes || bytes->empty()) return Invalid(std::string("JWK \"") + name + "\" not base64url");
  return *std::move(bytes);
}

Pkey FromData(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  return Pkey(key);
}

Result<Pkey> RsaFromJwk(const nlohmann::json& jwk) {
  auto n = JwkField(jwk, "n");
  if (!n.ok()) return n.status();
  auto e = JwkField(jwk, "e");
  if (!e.ok()) return e.status();
  std::unique_ptr<BIGNUM, BnFree> bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                                                 static_cast<int>(n->size()), nullptr));
  std::unique_ptr<BIGNUM, BnFree> bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                                                 static_cast<int>(e->size()), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return Invalid("JWK RSA key unusable");
  }
  Pkey key = FromData("RSA", bld.get());
  if (!key) return Invalid("JWK RSA key unusable");
  return key;
}

Result<Pkey> EcFromJwk(const nlohmann::json& jwk) {
  auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string()) return Invalid("JWK EC key without \"crv\"");
  std::string curve = crv->get<std::string>();
  const char* group = curve == "P-256"   ? "prime256v1"
                      : curve == "P-384" ? "secp384r1"
                      : curve == "P-521" ? "secp521r1"
                                         : nullptr;
  if (group == nullptr) return Invalid("JWK EC curve " + curve + " is not supported");
  auto x = JwkField(jwk, "x");
  if (!x.ok()) return x.status();
  auto y = JwkField(jwk, "y");
  if (!y.ok()) return y.status();
  if (x->size() != y->size()) return Invalid("JWK EC key: x and y differ in length");
  std::string point = "\x04" + *x + *y;  // uncompressed SEC1 point
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Invalid("JWK EC key unusable");
  }
  Pkey key = FromData("EC", bld.get());
  if (!key) return Invalid("JWK EC key unusable (not a point on " + curve + ")");
  return key;
}

}  // namespace

std::string_view JwtAlgorithmName(JwtAlgorithm algorithm) {
  switch (algorithm) {
    case JwtAlgorithm::kHs256:
      return "HS256";
    case JwtAlgorithm::kRs256:
      return "RS256";
    case JwtAlgorithm::kEs256:
      return "ES256";
    case JwtAlgorithm::kEs384:
      return "ES384";
    case JwtAlgorithm::kEs512:
      return "ES512";
  }
  return "?";
}

Result<JwtKey> LoadSecretFile(const std::string& path) {
  auto bytes = ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  std::string secret = *std::move(bytes);
  if (!secret.empty() && secret.back() == '\n') secret.pop_back();
  if (secret.size() < 32) {
    return Invalid(path + ": an HS256 secret needs at least 32 bytes (has " +
                   std::to_string(secret.size()) + ")");
  }
  return JwtKey{.kid = "", .algorithm = JwtAlgorithm::kHs256, .material = std::move(secret)};
}

Result<JwtKey> PublicKeyFromPem(std::string pem) {
  std::unique_ptr<BIO, BioFree> in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey key(in ? PEM_read_bio_PUBKEY(in.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return Invalid("not a PEM public key");
  auto algorithm = AlgorithmOf(key.get());
  if (!algorithm.ok()) return algorithm.status();
  return JwtKey{.kid = "", .algorithm = *algorithm, .material = std::move(pem)};
}

Result<JwtKey> LoadPublicKeyFile(const std::string& path) {
  auto bytes = ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  auto key = PublicKeyFromPem(*std::move(bytes));
  if (!key.ok()) return Invalid(path + ": " + key.status().message());
  return key;
}

Result<std::vector<JwtKey>> KeysFromJwks(std::string_view json) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Invalid("JWKS is not a JSON object");
  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) return Invalid("JWKS without a \"keys\" array");
  std::vector<JwtKey> out;
  for (const auto& jwk : *keys) {
    if (!jwk.is_object()) return Invalid("JWKS entry is not an object");
    if (auto use = jwk.find("use"); use != jwk.end() && *use != "sig") continue;
    auto kty = jwk.find("kty");
    if (kty == jwk.end() || !kty->is_string()) return Invalid("JWK without \"kty\"");
    Result<Pkey> key = Invalid("unsupported");
    if (*kty == "RSA") {
      key = RsaFromJwk(jwk);
    } else if (*kty == "EC") {
      key = EcFromJwk(jwk);
    } else {
      continue;  // "oct" and others: a JWKS publishes public keys only
    }
    if (!key.ok()) return key.status();
    auto algorithm = AlgorithmOf(key->get());
    if (!algorithm.ok()) return algorithm.status();
    // A JWK that names its algorithm must name the one its key is for.
    if (auto alg = jwk.find("alg"); alg != jwk.end() && *alg != JwtAlgorithmName(*algorithm)) {
      return Invalid("JWK alg " + alg->dump() + " does not match its key");
    }
    auto pem = ToPem(key->get());
    if (!pem.ok()) return pem.status();
    std::string kid;
    if (auto k = jwk.find("kid"); k != jwk.end() && k->is_string()) kid = k->get<std::string>();
    out.push_back(JwtKey{.kid = std::move(kid), .algorithm = *algorithm, .material = *pem});
  }
  if (out.empty()) return Invalid("JWKS has no usable signing key");
  return out;
}

Result<std::vector<JwtKey>> LoadJwksFile(const std::string& path) {
  auto bytes = ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  auto keys = KeysFromJwks(*bytes);
  if (!keys.ok()) return Invalid(path + ": " + keys.status().message());
  return keys;
}

}  // namespace percore::auth
