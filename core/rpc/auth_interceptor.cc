#include "core/rpc/auth_interceptor.h"

#include <google/protobuf/descriptor.h>

#include <chrono>

#include "core/rpc/method_table.h"
#include "core/runtime/shard.h"

namespace percore::rpc {
namespace {

Status Denied(const MethodBinding& method) {
  const auto* d = method.descriptor();
  return Status(StatusCode::kPermissionDenied,
                "permission denied for " + d->service()->full_name() + "/" + d->name());
}

// The request's string field `name`, or nullopt when the request has no such string field.
std::optional<std::string> StringField(const google::protobuf::Message& request,
                                       const std::string& name) {
  const auto* field = request.GetDescriptor()->FindFieldByName(name);
  if (field == nullptr || field->is_repeated() ||
      field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_STRING) {
    return std::nullopt;
  }
  return request.GetReflection()->GetString(request, field);
}

Status Repeated() {
  return Status(StatusCode::kUnauthenticated,
                "Invalid authentication token: more than one authorization header");
}

}  // namespace

AuthInterceptor::AuthInterceptor(std::shared_ptr<const auth::JwtVerifier> verifier,
                                 AccessPolicy policy, size_t shards, size_t cache_capacity)
    : verifier_(std::move(verifier)), policy_(std::move(policy)) {
  shards_.reserve(shards);
  for (size_t i = 0; i < shards; ++i) shards_.emplace_back(cache_capacity, verifier_);
}

void AuthInterceptor::ReplaceVerifier(size_t shard,
                                      std::shared_ptr<const auth::JwtVerifier> verifier) const {
  shards_[shard].verifier = std::move(verifier);
  shards_[shard].cache.Clear();
}

void AuthInterceptor::TrustServiceIdentities(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    auto principal = std::make_shared<auth::Principal>();
    principal->subject = name;
    principal->roles = {"service"};
    principal->expires_at = std::chrono::system_clock::time_point::max();
    service_identities_[name] = std::move(principal);
  }
}

Result<std::shared_ptr<const auth::Principal>> AuthInterceptor::Authenticate(
    const InterceptedCall& call) const {
  std::optional<std::string_view> authorization = call.call.metadata("authorization");
  if (!service_identities_.empty() && !authorization) {
    std::string name = call.call.peer_certificate_name();
    if (auto it = service_identities_.find(name);
        !name.empty() && it != service_identities_.end()) {
      return it->second;
    }
  }
  PerShard& shard = shards_[call.call.shard().id()];
  auto now = std::chrono::system_clock::now();
  // Keyed by the whole value: a value cached is a well-formed bearer token, so a hit skips the
  // scheme's parsing (BearerToken's answers come first on a miss, as before).
  if (authorization) {
    if (auto cached = shard.cache.Find(*authorization, now)) {
      if (call.call.metadata_repeated("authorization")) return Repeated();
      return cached;
    }
  }
  auto token = auth::BearerToken(authorization);
  if (!token.ok()) return token.status();
  // Two headers: which one would a proxy in front have checked? Neither is taken.
  if (call.call.metadata_repeated("authorization")) return Repeated();
  ++shard.verifications;
  auto verified = shard.verifier->Verify(*token, now);
  if (!verified.ok()) return verified.status();
  auto principal = std::make_shared<const auth::Principal>(*std::move(verified));
  // Only the canonical form ("<scheme> <token>", no extra spaces) is cached: padding one valid
  // token with spaces must not make unbounded distinct entries (churning the cache).
  if (authorization->size() == token->size() + auth::kBearerPrefixBytes)
    shard.cache.Insert(*authorization, principal);
  return principal;
}

const void* AuthInterceptor::Prepare(const MethodBinding& method) const {
  return policy_.Find(method.path());
}

Status AuthInterceptor::Intercept(const InterceptedCall& call) const {
  // Found when the chain was attached to the method; nullptr: not prepared or no rule (looked
  // up here, then refused if there is none).
  const AccessRule* rule = call.prepared != nullptr ? static_cast<const AccessRule*>(call.prepared)
                                                    : policy_.Find(call.method.path());
  if (rule != nullptr && rule->access == Access::kOpen) return Status();
  auto principal = Authenticate(call);
  if (!principal.ok()) return principal.status();
  const auth::Principal& who = **principal;
  bool admin = who.HasRole("admin");
  bool allowed = false;
  if (rule == nullptr) {
    allowed = false;  // a method without a rule is refused, whoever calls
  } else {
    switch (rule->access) {
      case Access::kOpen:
      case Access::kAuthenticated:
      case Access::kOwner:
        allowed = true;
        break;
      case Access::kService:
        allowed = admin || who.HasRole("service");
        break;
      case Access::kAdmin:
        allowed = admin;
        break;
      case Access::kSelf: {
        if (admin || (rule->service_too && who.HasRole("service"))) {
          allowed = true;
        } else if (call.request != nullptr) {
          auto value = StringField(*call.request, rule->field);
          allowed = value && !value->empty() && *value == who.subject;
        }
        break;
      }
    }
  }
  if (!allowed) return Denied(call.method);
  call.call.set_principal(*std::move(principal));
  return Status();
}

}  // namespace percore::rpc
