#pragma once
// Threading contract: free functions with no shared state; call from any thread.
//
// Tokens signed by libjwt and key pairs made by OpenSSL, for the tests and benchmarks of
// core/auth (the system tests mint theirs with python3-jwt, an independent implementation).
// Failures return an empty token or a null key: the caller's assertions say what went wrong.

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace percore::testing {

// A compact JWS of `claims` signed with `alg` and `key` (a secret, or a private key in PEM);
// `header` adds fields (e.g. kid). Empty when libjwt refuses.
inline std::string SignJwt(jwt_alg_t alg, const std::string& key, const nlohmann::json& claims,
                           const nlohmann::json& header = nlohmann::json::object()) {
  jwt_t* jwt = nullptr;
  if (jwt_new(&jwt) != 0) return "";
  std::unique_ptr<jwt_t, decltype(&jwt_free)> owned(jwt, jwt_free);
  if (jwt_add_grants_json(jwt, claims.dump().c_str()) != 0) return "";
  for (auto& [name, value] : header.items()) {
    if (jwt_add_header(jwt, name.c_str(), value.get<std::string>().c_str()) != 0) return "";
  }
  if (jwt_set_alg(jwt, alg, reinterpret_cast<const unsigned char*>(key.data()),
                  static_cast<int>(key.size())) != 0) {
    return "";
  }
  char* text = jwt_encode_str(jwt);
  std::string token = text ? text : "";
  free(text);
  return token;
}

struct JwtKeyPair {
  std::string private_pem, public_pem;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{nullptr, EVP_PKEY_free};
};

// A fresh RSA-2048 (rsa) or P-256 key pair, with both halves in PEM; `key` null on failure.
inline JwtKeyPair GenerateJwtKeyPair(bool rsa) {
  JwtKeyPair pair;
  pair.key.reset(rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"));
  if (!pair.key) return pair;
  for (bool is_private : {true, false}) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (is_private) {
      PEM_write_bio_PrivateKey(bio, pair.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    } else {
      PEM_write_bio_PUBKEY(bio, pair.key.get());
    }
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    (is_private ? pair.private_pem : pair.public_pem).assign(data, static_cast<size_t>(size));
    BIO_free(bio);
  }
  return pair;
}

}  // namespace percore::testing
