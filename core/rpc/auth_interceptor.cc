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
    const InterceptedCall& call, PerShard& shard, std::optional<std::string_view> authorization,
    bool repeated, std::chrono::system_clock::time_point now) const {
  if (!service_identities_.empty() && !authorization) {
    std::string name = call.call.peer_certificate_name();
    if (auto it = service_identities_.find(name);
        !name.empty() && it != service_identities_.end()) {
      return it->second;
    }
  }
  auto token = auth::BearerToken(authorization);
  if (!token.ok()) return token.status();
  // Two headers: which one would a proxy in front have checked? Neither is taken.
  if (repeated) return Repeated();
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

AuthInterceptor::MethodRule AuthInterceptor::RuleFor(const MethodBinding& method) const {
  MethodRule found{policy_.Find(method.path()), nullptr};
  if (found.rule != nullptr && found.rule->access == Access::kSelf) {
    const auto* field = method.descriptor()->input_type()->FindFieldByName(found.rule->field);
    if (field != nullptr && !field->is_repeated() &&
        field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_STRING) {
      found.field = field;
    }
  }
  return found;
}

const void* AuthInterceptor::Prepare(const MethodBinding& method) const {
  return &method_rules_.emplace_back(RuleFor(method));
}

bool AuthInterceptor::Allowed(const MethodRule& method, const InterceptedCall& call,
                              const auth::Principal& who) const {
  const AccessRule* rule = method.rule;
  if (rule == nullptr) return false;  // a method without a rule is refused, whoever calls
  switch (rule->access) {
    case Access::kOpen:
    case Access::kAuthenticated:
    case Access::kOwner:
      return true;
    case Access::kService:
      return who.HasRole("admin") || who.HasRole("service");
    case Access::kAdmin:
      return who.HasRole("admin");
    case Access::kSelf: {
      if (who.HasRole("admin") || (rule->service_too && who.HasRole("service"))) return true;
      if (call.request == nullptr) return false;
      if (method.field != nullptr &&
          method.field->containing_type() == call.request->GetDescriptor()) {
        // Read in place: no lookup by name, no copy of the value.
        std::string scratch;
        const std::string& value = call.request->GetReflection()->GetStringReference(
            *call.request, method.field, &scratch);
        return !value.empty() && value == who.subject;
      }
      auto value = StringField(*call.request, rule->field);  // a request of another pool
      return value && !value->empty() && *value == who.subject;
    }
  }
  return false;
}

Status AuthInterceptor::Intercept(const InterceptedCall& call) const {
  // Found when the chain was attached to the method; nullptr: not prepared (looked up here).
  MethodRule looked_up;
  const auto* method = static_cast<const MethodRule*>(call.prepared);
  if (method == nullptr) {
    looked_up = RuleFor(call.method);
    method = &looked_up;
  }
  if (method->rule != nullptr && method->rule->access == Access::kOpen) return Status();
  PerShard& shard = shards_[call.call.shard().id()];
  auto now = std::chrono::system_clock::now();
  bool repeated = false;
  std::optional<std::string_view> authorization =
      call.call.metadata_single("authorization", &repeated);
  // The cache is keyed by the whole value: a value cached is a well-formed bearer token, so a
  // hit skips the scheme's parsing. Two headers never hit: Authenticate refuses them (after
  // BearerToken's answers, as before).
  std::shared_ptr<const auth::Principal> principal;
  if (authorization && !repeated) principal = shard.cache.Find(*authorization, now);
  if (principal == nullptr) {
    auto verified = Authenticate(call, shard, authorization, repeated, now);
    if (!verified.ok()) return verified.status();
    principal = *std::move(verified);
  }
  if (!Allowed(*method, call, *principal)) return Denied(call.method);
  call.call.set_principal(std::move(principal));
  return Status();
}

}  // namespace percore::rpc
