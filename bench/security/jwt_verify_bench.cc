// JWT costs (issue 13's benchmark): the first use of a token, a full JwtVerifier::Verify (format,
// algorithm bound to the key, libjwt's signature check, the claims) for each algorithm, against a
// reused token, which costs one lookup in the shard's VerifiedTokenCache.
//
//   build/release/bench/security/security_bench --benchmark_min_time=1

#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/auth/jwt_key.h"
#include "core/auth/jwt_verifier.h"
#include "core/auth/verified_token_cache.h"
#include "tests/testing/jwt_signing.h"

namespace percore::auth {
namespace {

using Clock = std::chrono::system_clock;

const std::string kSecret = "0123456789abcdef0123456789abcdef-secret";

nlohmann::json Claims() {
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
  return {{"sub", "alice"}, {"exp", now + 3600}, {"roles", nlohmann::json::array({"user"})}};
}

// One signed token and the verifier for its key; a skipped benchmark when signing fails.
struct Signed {
  std::string token;
  std::unique_ptr<JwtVerifier> verifier;
};

Signed Make(JwtAlgorithm algorithm) {
  Signed out;
  JwtKey key{.kid = "", .algorithm = algorithm, .material = kSecret};
  if (algorithm == JwtAlgorithm::kHs256) {
    out.token = testing::SignJwt(JWT_ALG_HS256, kSecret, Claims());
  } else {
    const bool rsa = algorithm == JwtAlgorithm::kRs256;
    testing::JwtKeyPair pair = testing::GenerateJwtKeyPair(rsa);
    out.token = testing::SignJwt(rsa ? JWT_ALG_RS256 : JWT_ALG_ES256, pair.private_pem, Claims());
    key.material = pair.public_pem;
  }
  JwtVerifierOptions options;
  options.keys = {key};
  out.verifier = std::make_unique<JwtVerifier>(std::move(options));
  return out;
}

void BM_FirstUse(benchmark::State& state, JwtAlgorithm algorithm) {
  Signed s = Make(algorithm);
  if (s.token.empty() || !s.verifier->Verify(s.token, Clock::now()).ok()) {
    state.SkipWithError("could not sign or verify a token");
    return;
  }
  const Clock::time_point now = Clock::now();
  for (auto _ : state) {
    auto principal = s.verifier->Verify(s.token, now);
    benchmark::DoNotOptimize(principal);
  }
}
BENCHMARK_CAPTURE(BM_FirstUse, hs256, JwtAlgorithm::kHs256);
BENCHMARK_CAPTURE(BM_FirstUse, rs256, JwtAlgorithm::kRs256);
BENCHMARK_CAPTURE(BM_FirstUse, es256, JwtAlgorithm::kEs256);

// What every later call with the same token pays on its shard.
void BM_ReusedToken(benchmark::State& state) {
  Signed s = Make(JwtAlgorithm::kHs256);
  auto verified = s.verifier->Verify(s.token, Clock::now());
  if (!verified.ok()) {
    state.SkipWithError("could not verify the token");
    return;
  }
  VerifiedTokenCache cache;
  cache.Insert(s.token, std::make_shared<const Principal>(*verified));
  const Clock::time_point now = Clock::now();
  for (auto _ : state) {
    auto principal = cache.Find(s.token, now);
    benchmark::DoNotOptimize(principal);
  }
}
BENCHMARK(BM_ReusedToken);

}  // namespace
}  // namespace percore::auth

BENCHMARK_MAIN();
