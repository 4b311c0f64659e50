#pragma once
// Threading contract: one per shard, used only on that shard's thread (no lock, no atomics).
//
// Tokens this shard has verified, so a client reusing its token pays the signature check once:
// keyed by the whole token, bounded (when full it is emptied: only valid tokens are ever stored,
// so a flood of bad tokens cannot churn it, and a refill costs one verification per live
// client), and an entry is used only until the token's exp (plus leeway) passes.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/auth/principal.h"
#include "core/base/string_hash.h"

namespace percore::auth {

class VerifiedTokenCache {
 public:
  explicit VerifiedTokenCache(size_t capacity = 4096) : capacity_(capacity) {}

  // The principal of a token verified before and not expired at `now`, or nullptr. Shared, so a
  // call can keep it after the cache dropped it.
  std::shared_ptr<const Principal> Find(std::string_view token,
                                        std::chrono::system_clock::time_point now) {
    auto it = entries_.find(token);
    if (it == entries_.end()) return nullptr;
    if (now > it->second->expires_at) {
      entries_.erase(it);
      return nullptr;
    }
    return it->second;
  }
  void Insert(std::string_view token, std::shared_ptr<const Principal> principal) {
    if (capacity_ == 0) return;
    if (entries_.size() >= capacity_) entries_.clear();
    entries_.insert_or_assign(std::string(token), std::move(principal));
  }
  void Clear() { entries_.clear(); }
  size_t size() const { return entries_.size(); }

 private:
  size_t capacity_;
  std::unordered_map<std::string, std::shared_ptr<const Principal>, TransparentStringHash,
                     std::equal_to<>>
      entries_;
};

}  // namespace percore::auth
