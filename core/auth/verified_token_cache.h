#pragma once
// Threading contract: one per shard, used only on that shard's thread (no lock, no atomics).
//
// Tokens this shard has verified, so a client reusing its token pays the signature check once:
// keyed by the whole token (the interceptor uses the whole `authorization` value, so a hit
// skips the scheme's parsing too), bounded (when full it is emptied: only valid tokens are ever
// stored, so a flood of bad tokens cannot churn it, and a refill costs one verification per live
// client), and an entry is used only until the token's exp (plus leeway) passes.

#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/auth/principal.h"
namespace percore::auth {

// Hashes a token's last 16 bytes (the end of its signature) and its length instead of all of it
// (a 170-byte HS256 token: ~360 instructions in std::hash, ~10 here). Safe against collision
// floods: only tokens with a valid signature are ever stored, and a signature's bytes are spread
// uniformly (an HMAC or a signature the attacker cannot forge), so buckets stay short whatever
// the lookups are; a lookup still compares the whole token.
struct TokenTailHash {
  using is_transparent = void;
  size_t operator()(std::string_view token) const {
    if (token.size() < 16) return std::hash<std::string_view>()(token);
    uint64_t a, b;
    std::memcpy(&a, token.data() + token.size() - 16, 8);
    std::memcpy(&b, token.data() + token.size() - 8, 8);
    uint64_t h = (a ^ (token.size() * 0x9E3779B97F4A7C15ULL)) * 0xC2B2AE3D27D4EB4FULL;
    h ^= b + (h >> 29);
    return static_cast<size_t>(h * 0x165667B19E3779F9ULL);
  }
};

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
  std::unordered_map<std::string, std::shared_ptr<const Principal>, TokenTailHash, std::equal_to<>>
      entries_;
};

}  // namespace percore::auth
