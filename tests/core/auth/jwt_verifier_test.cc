// core/auth against tokens signed by libjwt here and hand-made attack tokens: each rule of
// JwtVerifier (algorithm bound to the key, kid, exp/nbf/iss/aud/sub, size, format), the key
// loaders (secret, PEM, JWKS built from generated keys), BearerToken and the per-shard cache.
// Tokens from an independent implementation (python3-jwt) are the system test's.

#include "core/auth/jwt_verifier.h"

#include <gtest/gtest.h>
#include <jwt.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/auth/base64url.h"
#include "core/auth/jwt_key.h"
#include "core/auth/verified_token_cache.h"
#include "tests/testing/jwt_signing.h"

namespace percore::auth {
namespace {

using Clock = std::chrono::system_clock;
using nlohmann::json;

const std::string kSecret = "0123456789abcdef0123456789abcdef-secret";

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
}

std::string Sign(jwt_alg_t alg, const std::string& key, const json& claims,
                 const json& header = json::object()) {
  std::string token = testing::SignJwt(alg, key, claims, header);
  EXPECT_FALSE(token.empty()) << "libjwt refused to sign";
  return token;
}

json Claims(int64_t exp_in = 60) {
  return json{{"sub", "alice"}, {"exp", Now() + exp_in}, {"roles", json::array({"user"})}};
}

std::string Unsigned(const json& header, const json& claims, const std::string& signature = "") {
  return Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump()) + "." + signature;
}

using KeyPair = testing::JwtKeyPair;

KeyPair Generate(bool rsa) {
  KeyPair pair = testing::GenerateJwtKeyPair(rsa);
  EXPECT_NE(pair.key, nullptr);
  return pair;
}

std::string Bn(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &bn), 1);
  std::string bytes(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(bn);
  return Base64UrlEncode(bytes);
}

JwtVerifierOptions WithLeeway(int seconds) {
  JwtVerifierOptions options;
  options.leeway = std::chrono::seconds(seconds);
  return options;
}

JwtVerifier VerifierWith(std::vector<JwtKey> keys) {
  JwtVerifierOptions options;
  options.keys = std::move(keys);
  return JwtVerifier(std::move(options));
}

std::shared_ptr<const Principal> Until(std::string subject, Clock::time_point expires_at) {
  auto principal = std::make_shared<Principal>();
  principal->subject = std::move(subject);
  principal->expires_at = expires_at;
  return principal;
}

JwtVerifier HsVerifier(JwtVerifierOptions options = {}) {
  options.keys = {JwtKey{.kid = "", .algorithm = JwtAlgorithm::kHs256, .material = kSecret}};
  return JwtVerifier(std::move(options));
}

void ExpectInvalid(const Result<Principal>& result, std::string_view why) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(result.status().message(), "Invalid authentication token: " + std::string(why));
}

TEST(Base64UrlTest, RoundTripsAndRejectsNonCanonicalText) {
  for (const std::string& bytes :
       std::vector<std::string>{"", "f", "fo", "foo", "foob", std::string("\xff\xfe\x00\x01", 4)}) {
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(bytes)), bytes);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(Base64UrlDecode("Zm9v=").has_value());  // padding
  EXPECT_FALSE(Base64UrlDecode("Zm+v").has_value());   // the other alphabet
  EXPECT_FALSE(Base64UrlDecode("Zm9vY").has_value());  // 4n+1 characters
  EXPECT_FALSE(Base64UrlDecode("Zh").has_value());     // leftover bits set
}

TEST(JwtVerifierTest, AcceptsAValidHs256TokenAndReadsSubjectAndRoles) {
  auto result = HsVerifier().Verify(Sign(JWT_ALG_HS256, kSecret, Claims()), Clock::now());
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->subject, "alice");
  EXPECT_TRUE(result->HasRole("user"));
  EXPECT_FALSE(result->HasRole("admin"));
}

TEST(JwtVerifierTest, ReadsRolesFromScopeWhenThereAreNoRoles) {
  json claims{{"sub", "svc"}, {"exp", Now() + 60}, {"scope", "service  admin"}};
  auto result = HsVerifier().Verify(Sign(JWT_ALG_HS256, kSecret, claims), Clock::now());
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->roles, (std::vector<std::string>{"service", "admin"}));
}

TEST(JwtVerifierTest, ExpiryAndNotBeforeHonourTheLeeway) {
  std::string expired = Sign(JWT_ALG_HS256, kSecret, Claims(-10));
  ExpectInvalid(HsVerifier().Verify(expired, Clock::now()), "expired");
  EXPECT_TRUE(HsVerifier(WithLeeway(30)).Verify(expired, Clock::now()).ok());

  json later = Claims();
  later["nbf"] = Now() + 20;
  std::string early = Sign(JWT_ALG_HS256, kSecret, later);
  ExpectInvalid(HsVerifier().Verify(early, Clock::now()), "not yet valid");
  EXPECT_TRUE(HsVerifier(WithLeeway(30)).Verify(early, Clock::now()).ok());
}

TEST(JwtVerifierTest, ChecksIssuerAndAudienceWhenConfigured) {
  JwtVerifierOptions options;
  options.issuer = "https://issuer.test";
  options.audience = "percore";
  json claims = Claims();
  ExpectInvalid(HsVerifier(options).Verify(Sign(JWT_ALG_HS256, kSecret, claims), Clock::now()),
                "wrong issuer");
  claims["iss"] = "https://issuer.test";
  claims["aud"] = "other";
  ExpectInvalid(HsVerifier(options).Verify(Sign(JWT_ALG_HS256, kSecret, claims), Clock::now()),
                "wrong audience");
  claims["aud"] = json::array({"other", "percore"});
  EXPECT_TRUE(HsVerifier(options).Verify(Sign(JWT_ALG_HS256, kSecret, claims), Clock::now()).ok());
}

TEST(JwtVerifierTest, RequiresExpAndSub) {
  json no_exp{{"sub", "alice"}};
  ExpectInvalid(HsVerifier().Verify(Sign(JWT_ALG_HS256, kSecret, no_exp), Clock::now()), "no exp");
  json no_sub{{"exp", Now() + 60}};
  ExpectInvalid(HsVerifier().Verify(Sign(JWT_ALG_HS256, kSecret, no_sub), Clock::now()), "no sub");
  json text_exp{{"sub", "alice"}, {"exp", "tomorrow"}};
  ExpectInvalid(HsVerifier().Verify(Sign(JWT_ALG_HS256, kSecret, text_exp), Clock::now()),
                "exp is not a date");
}

TEST(JwtVerifierTest, RejectsATamperedPayloadAndAnotherSecret) {
  std::string token = Sign(JWT_ALG_HS256, kSecret, Claims());
  size_t first = token.find('.'), second = token.rfind('.');
  json admin = Claims();
  admin["roles"] = json::array({"admin"});
  std::string tampered =
      token.substr(0, first + 1) + Base64UrlEncode(admin.dump()) + token.substr(second);
  ExpectInvalid(HsVerifier().Verify(tampered, Clock::now()), "bad signature");
  std::string other = Sign(JWT_ALG_HS256, kSecret + "x", Claims());
  ExpectInvalid(HsVerifier().Verify(other, Clock::now()), "bad signature");
}

TEST(JwtVerifierTest, RejectsAlgNoneWhateverTheSignaturePart) {
  for (const char* alg : {"none", "None", "NONE"}) {
    ExpectInvalid(HsVerifier().Verify(Unsigned({{"alg", alg}}, Claims()), Clock::now()),
                  "unsigned");
    ExpectInvalid(HsVerifier().Verify(Unsigned({{"alg", alg}}, Claims(), "c2ln"), Clock::now()),
                  "algorithm " + std::string(alg) + " not accepted");
  }
}

TEST(JwtVerifierTest, RejectsHs256SignedWithTheRsaPublicKeyAsTheSecret) {
  KeyPair rsa = Generate(true);
  auto key = PublicKeyFromPem(rsa.public_pem);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(key->algorithm, JwtAlgorithm::kRs256);
  JwtVerifier verifier = VerifierWith({*key});
  std::string confused = Sign(JWT_ALG_HS256, rsa.public_pem, Claims());
  ExpectInvalid(verifier.Verify(confused, Clock::now()), "algorithm HS256 not accepted");
  auto good = verifier.Verify(Sign(JWT_ALG_RS256, rsa.private_pem, Claims()), Clock::now());
  EXPECT_TRUE(good.ok()) << good.status().message();
}

TEST(JwtVerifierTest, VerifiesEs256WithAnEcPublicKey) {
  KeyPair ec = Generate(false);
  auto key = PublicKeyFromPem(ec.public_pem);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(key->algorithm, JwtAlgorithm::kEs256);
  JwtVerifier verifier = VerifierWith({*key});
  auto good = verifier.Verify(Sign(JWT_ALG_ES256, ec.private_pem, Claims()), Clock::now());
  EXPECT_TRUE(good.ok()) << good.status().message();
  ExpectInvalid(
      verifier.Verify(Sign(JWT_ALG_RS256, Generate(true).private_pem, Claims()), Clock::now()),
      "algorithm RS256 not accepted");
}

TEST(JwtVerifierTest, JwksChoosesTheKeyByKid) {
  KeyPair rsa = Generate(true), ec = Generate(false);
  // The EC point: x and y of the public key, from its uncompressed encoding.
  unsigned char point[65];
  size_t point_size = 0;
  ASSERT_EQ(EVP_PKEY_get_octet_string_param(ec.key.get(), OSSL_PKEY_PARAM_PUB_KEY, point,
                                            sizeof(point), &point_size),
            1);
  ASSERT_EQ(point_size, 65u);
  std::string xy(reinterpret_cast<char*>(point) + 1, 64);
  json jwks{
      {"keys", json::array({
                   {{"kty", "RSA"},
                    {"kid", "r1"},
                    {"alg", "RS256"},
                    {"n", Bn(rsa.key.get(), OSSL_PKEY_PARAM_RSA_N)},
                    {"e", Bn(rsa.key.get(), OSSL_PKEY_PARAM_RSA_E)}},
                   {{"kty", "EC"},
                    {"kid", "e1"},
                    {"crv", "P-256"},
                    {"x", Base64UrlEncode(xy.substr(0, 32))},
                    {"y", Base64UrlEncode(xy.substr(32))}},
                   {{"kty", "RSA"}, {"kid", "enc"}, {"use", "enc"}, {"n", "AQAB"}, {"e", "AQAB"}},
               })}};
  auto keys = KeysFromJwks(jwks.dump());
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  ASSERT_EQ(keys->size(), 2u);
  JwtVerifier verifier = VerifierWith(*keys);
  EXPECT_TRUE(
      verifier.Verify(Sign(JWT_ALG_RS256, rsa.private_pem, Claims(), {{"kid", "r1"}}), Clock::now())
          .ok());
  EXPECT_TRUE(
      verifier.Verify(Sign(JWT_ALG_ES256, ec.private_pem, Claims(), {{"kid", "e1"}}), Clock::now())
          .ok());
  ExpectInvalid(verifier.Verify(Sign(JWT_ALG_RS256, rsa.private_pem, Claims(), {{"kid", "e1"}}),
                                Clock::now()),
                "algorithm RS256 not accepted");
  ExpectInvalid(verifier.Verify(Sign(JWT_ALG_RS256, rsa.private_pem, Claims(), {{"kid", "zz"}}),
                                Clock::now()),
                "unknown kid");
  EXPECT_FALSE(KeysFromJwks(R"({"keys": []})").ok());
  EXPECT_FALSE(KeysFromJwks("not json").ok());
  json lying = jwks;
  lying["keys"][0]["alg"] = "HS256";
  EXPECT_FALSE(KeysFromJwks(lying.dump()).ok());
}

TEST(JwtVerifierTest, RejectsMalformedAndOversizedTokens) {
  JwtVerifier verifier = HsVerifier();
  ExpectInvalid(verifier.Verify("abc.def", Clock::now()), "not a compact JWS (three parts)");
  ExpectInvalid(verifier.Verify("a.b.c.d", Clock::now()), "not a compact JWS (three parts)");
  ExpectInvalid(verifier.Verify("!!!.e30.c2ln", Clock::now()), "malformed header");
  ExpectInvalid(verifier.Verify(Base64UrlEncode("[1]") + ".e30.c2ln", Clock::now()),
                "malformed header");
  ExpectInvalid(verifier.Verify(Unsigned({{"typ", "JWT"}}, Claims(), "c2ln"), Clock::now()),
                "header without alg");
  ExpectInvalid(
      verifier.Verify(Unsigned({{"alg", "HS256"}, {"crit", json::array({"x"})}}, Claims(), "c2ln"),
                      Clock::now()),
      "unsupported crit header");
  std::string big = Sign(JWT_ALG_HS256, kSecret,
                         {{"sub", "alice"}, {"exp", Now() + 60}, {"pad", std::string(16384, 'x')}});
  ExpectInvalid(verifier.Verify(big, Clock::now()), "too long");
}

TEST(BearerTokenTest, ReadsTheSchemeCaseInsensitivelyAndNamesWhatIsMissing) {
  EXPECT_EQ(BearerToken(std::nullopt).status().message(), "Missing authentication token");
  EXPECT_EQ(BearerToken("").status().message(), "Missing authentication token");
  EXPECT_EQ(BearerToken("Bearer   ").status().message(), "Missing authentication token");
  EXPECT_EQ(*BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(*BearerToken("bearer abc"), "abc");
  EXPECT_EQ(BearerToken("Basic YWxpY2U6cHc=").status().message(),
            "Invalid authentication token: not a bearer token");
  EXPECT_EQ(BearerToken("Basic YWxpY2U6cHc=").code(), StatusCode::kUnauthenticated);
}

TEST(VerifiedTokenCacheTest, ServesUntilExpiryAndStaysBounded) {
  VerifiedTokenCache cache(2);
  auto now = Clock::now();
  cache.Insert("t1", Until("a", now + std::chrono::seconds(5)));
  ASSERT_NE(cache.Find("t1", now), nullptr);
  EXPECT_EQ(cache.Find("t1", now)->subject, "a");
  EXPECT_EQ(cache.Find("t1", now + std::chrono::seconds(6)), nullptr);
  EXPECT_EQ(cache.size(), 0u);
  cache.Insert("t1", Until("a", now + std::chrono::seconds(5)));
  cache.Insert("t2", Until("b", now + std::chrono::seconds(5)));
  cache.Insert("t3", Until("c", now + std::chrono::seconds(5)));
  EXPECT_LE(cache.size(), 2u);
  EXPECT_NE(cache.Find("t3", now), nullptr);
}

TEST(VerifiedTokenCacheTest, ComparesTheWholeTokenNotOnlyTheHashedTail) {
  // The hash reads only the last 16 bytes: a token that differs before them lands in the same
  // bucket and must still miss.
  VerifiedTokenCache cache;
  auto now = Clock::now();
  std::string signature(43, 's');
  cache.Insert("Bearer header.alice." + signature, Until("alice", now + std::chrono::seconds(5)));
  EXPECT_EQ(TokenTailHash()("Bearer header.alice." + signature),
            TokenTailHash()("Bearer header.mallo." + signature));
  EXPECT_EQ(cache.Find("Bearer header.mallo." + signature, now), nullptr);
  ASSERT_NE(cache.Find("Bearer header.alice." + signature, now), nullptr);
  EXPECT_NE(TokenTailHash()("short"), TokenTailHash()("shorT"));
}

TEST(JwtKeyTest, SecretFileNeedsThirtyTwoBytesAndLosesOneTrailingNewline) {
  std::string path = ::testing::TempDir() + "/percore-jwt-secret";
  std::ofstream(path) << "short\n";
  auto shorter = LoadSecretFile(path);
  ASSERT_FALSE(shorter.ok());
  EXPECT_NE(shorter.status().message().find("at least 32 bytes"), std::string::npos);
  std::ofstream(path) << kSecret << "\n";
  auto secret = LoadSecretFile(path);
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(secret->material, kSecret);
  EXPECT_FALSE(LoadSecretFile(path + ".missing").ok());
  std::remove(path.c_str());
  EXPECT_FALSE(
      PublicKeyFromPem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").ok());
}

}  // namespace
}  // namespace percore::auth
