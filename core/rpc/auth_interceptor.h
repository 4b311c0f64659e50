#pragma once
// Threading contract: built on the control thread before the server starts; Intercept() runs on
// the call's shard and touches only that shard's cache (per-shard state indexed by shard id, no
// lock). A reload (SIGHUP: new keys) is ReplaceVerifier, run on each shard by its own thread
// (through its mailbox): that shard's verifier is swapped and its cache of verified tokens
// emptied, so a token signed by a key that is gone is not served from the cache.
//
// The `authenticate` middleware: reads `authorization: Bearer <token>`, verifies the token
// (core/auth; a token this shard verified before is taken from its cache until its exp), applies
// the method's AccessRule and hands the verified principal to the call (CallCore::principal())
// for the services' owner checks. Missing token: UNAUTHENTICATED "Missing authentication token";
// a bad one: UNAUTHENTICATED "Invalid authentication token: <rule>"; a wrong role:
// PERMISSION_DENIED "permission denied for <Service>/<Method>" (the method, not the rule).

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/auth/jwt_verifier.h"
#include "core/auth/verified_token_cache.h"
#include "core/rpc/access_policy.h"
#include "core/rpc/call_interceptor.h"

namespace percore::rpc {

class AuthInterceptor final : public CallInterceptor {
 public:
  AuthInterceptor(std::shared_ptr<const auth::JwtVerifier> verifier, AccessPolicy policy,
                  size_t shards, size_t cache_capacity = 4096);

  Status Intercept(const InterceptedCall& call) const override;
  // The method's MethodRule (its AccessRule and, for kSelf, the request's field), so a call
  // needs no lookup by path or by field name.
  const void* Prepare(const MethodBinding& method) const override;
  // On shard `shard`'s thread only: verify with `verifier` from the next call on.
  void ReplaceVerifier(size_t shard, std::shared_ptr<const auth::JwtVerifier> verifier) const;

  // Mutual TLS as authentication (--tls-service-identity): a call that carries no
  // `authorization` but came over a connection whose verified client certificate's common name
  // is one of `names` is the principal {sub: that name, roles: [service]}. A token, when there
  // is one, always decides. Before the server starts.
  void TrustServiceIdentities(const std::vector<std::string>& names);

  // Verifications done (cache misses) on `shard`, read on that shard (tests).
  int64_t verifications(size_t shard) const { return shards_[shard].verifications; }

 private:
  // What a call of one method is checked against, found once per method.
  struct MethodRule {
    const AccessRule* rule = nullptr;  // into policy_; nullptr: no rule (refused)
    // kSelf: the request's string field named by the rule, or nullptr (no such field).
    const google::protobuf::FieldDescriptor* field = nullptr;
  };
  struct PerShard {
    PerShard(size_t capacity, std::shared_ptr<const auth::JwtVerifier> keys)
        : cache(capacity), verifier(std::move(keys)) {}
    auth::VerifiedTokenCache cache;
    std::shared_ptr<const auth::JwtVerifier> verifier;
    int64_t verifications = 0;
  };
  MethodRule RuleFor(const MethodBinding& method) const;
  // The principal of a call the shard's cache did not answer (`authorization`: its first
  // value; `repeated`: sent more than once).
  Result<std::shared_ptr<const auth::Principal>> Authenticate(
      const InterceptedCall& call, PerShard& shard, std::optional<std::string_view> authorization,
      bool repeated, std::chrono::system_clock::time_point now) const;
  bool Allowed(const MethodRule& method, const InterceptedCall& call,
               const auth::Principal& who) const;

  std::shared_ptr<const auth::JwtVerifier> verifier_;
  AccessPolicy policy_;
  // By certificate name; read-only once serving (shared principals: no allocation per call).
  std::map<std::string, std::shared_ptr<const auth::Principal>, std::less<>> service_identities_;
  mutable std::vector<PerShard> shards_;  // [shard id]; each element touched by its shard only
  // What Prepare() handed out (stable addresses); grown on the control thread only, before
  // serving.
  mutable std::deque<MethodRule> method_rules_;
};

}  // namespace percore::rpc
