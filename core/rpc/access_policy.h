#pragma once
// Threading contract: built on the control thread before the server starts; read-only after
// (Find from any shard).
//
// Who may call what, in one table by method path: open (health, reflection), any authenticated
// caller, the caller's own resource (a request field that must equal the token's subject, or the
// `admin` role), the resource's owner as the service finds it (the service compares the stored
// owner with the call's principal), the `service` role (service-to-service calls; `admin` too),
// or `admin` only. A method with no rule is refused (a new method must be given one: the
// policy test walks every hosted method).

#include <google/protobuf/descriptor.h>

#include <string>
#include <string_view>
#include <unordered_map>

#include "core/base/string_hash.h"

namespace percore::rpc {

enum class Access {
  kOpen,           // no token needed
  kAuthenticated,  // any valid token
  kSelf,           // `field` of the request equals the subject; admin may use any value
  kOwner,          // authenticated; the service checks the resource's owner (or admin)
  kService,        // role `service` or `admin`
  kAdmin,          // role `admin`
};

struct AccessRule {
  Access access = Access::kAdmin;
  // kSelf: the request field (a string) holding the user id; an empty value means "all users",
  // which needs admin.
  std::string field;
  // kSelf: the `service` role may also use any value (OrderService reading the buyer's user).
  bool service_too = false;
};

class AccessPolicy {
 public:
  // Searched by the call's path without copying it (once per call).
  using Rules = std::unordered_map<std::string, AccessRule, TransparentStringHash, std::equal_to<>>;

  void Set(std::string path, AccessRule rule) { rules_[std::move(path)] = std::move(rule); }
  // nullptr: no rule (the call is refused).
  const AccessRule* Find(std::string_view path) const {
    auto it = rules_.find(path);
    return it == rules_.end() ? nullptr : &it->second;
  }
  size_t size() const { return rules_.size(); }
  const Rules& rules() const { return rules_; }

 private:
  Rules rules_;
};

}  // namespace percore::rpc
