// UniqueIndexPartition: one partition of a unique secondary index (e.g. lower-cased email ->
// user id), which is how uniqueness holds across all shards without a lock.
//
// Threading contract: single-threaded, no locks. The partition belongs to the shard that
// PartitionOf(index key) names and only that shard's thread calls it. Because every claim of a
// given key runs on that one thread, claims of the same key from different shards are
// serialized there: exactly one owner wins, whatever the interleaving.
//
// Cross-shard protocol (the service runs it; this class is its single point of truth):
//   Create / change the key of row R from `old` to `new` (owner = R's id):
//   1. Claim(new, R) on new's shard. kAlreadyExists: stop, the key is taken.
//      kOk with kNewlyClaimed: this request now holds the claim.
//      kOk with kAlreadyOwned: R already held `new` (e.g. an update to the same email) and
//      must not give it back in step 3 or on failure.
//   2. Write R on R's shard (which checks R's own preconditions, e.g. that it still exists),
//      and read there the key R held just before the write: that is `old`. Reading it at write
//      time, not before step 1, keeps concurrent changes of one row to different keys correct.
//   3a. Success: Release(old, R) on old's shard, unless old is absent or equals new, and
//       before answering the client (so the old key is free "at once" from its point of view).
//       Until it runs R holds both keys, so a concurrent claim of `old` can fail spuriously,
//       never succeed wrongly.
//   3b. Failure: Release(new, R) on new's shard, but only if step 1 said kNewlyClaimed.
//   Delete row R: remove R on its shard, then Release(key, R) on the key's shard, then answer.
// Release only removes a claim held by the given owner, so a late or repeated release (a retry,
// a step 3b racing a newer claim) never frees a key that someone else has claimed since.
// Caveat: two concurrent changes of one row to the same new key both see the claim as theirs
// (the second gets kAlreadyOwned); if the first one's write then fails for a reason the second
// one's does not, step 3b frees a key the row ends up holding. Row writes that can only fail
// with "row gone" cannot split like that; otherwise queue key changes per row on its shard.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/btree_set.h"
#include "core/base/result.h"
#include "core/storage/compact_blob.h"

namespace percore::storage {

// Why a successful Claim succeeded; it decides whether a failed row write may release it.
enum class ClaimOutcome : uint8_t {
  kNewlyClaimed,  // the key was free and now belongs to the caller
  kAlreadyOwned,  // the caller already held the key; nothing changed
};

// Keys are byte strings compared byte-wise; normalizing them (lower-casing an email) is the
// caller's job, so that every shard agrees on what "the same key" is. Owner is any value type
// with operator== (the row's id).
template <class Owner = std::string>
class UniqueIndexPartition {
 public:
  UniqueIndexPartition() = default;
  UniqueIndexPartition(UniqueIndexPartition&&) noexcept = default;
  UniqueIndexPartition& operator=(UniqueIndexPartition&&) noexcept = default;
  UniqueIndexPartition(const UniqueIndexPartition&) = delete;
  UniqueIndexPartition& operator=(const UniqueIndexPartition&) = delete;

  // Claims `key` for `owner`. Idempotent for the same owner. Fails with kAlreadyExists if
  // another owner holds it, copying that owner to *current_owner when given (the copy is owned
  // data, so it can be sent back to the requesting shard). An empty key is kInvalidArgument:
  // "no value" is not unique, and claiming it would make every later empty key collide.
  Result<ClaimOutcome> Claim(std::string_view key, Owner owner, Owner* current_owner = nullptr) {
    if (key.empty()) return {StatusCode::kInvalidArgument, "an empty key cannot be claimed"};
    auto it = claims_.lower_bound(key);
    if (it != claims_.end() && it->key.view() == key) {
      if (it->owner == owner) return ClaimOutcome::kAlreadyOwned;
      if (current_owner != nullptr) *current_owner = it->owner;
      return {StatusCode::kAlreadyExists, "key is already claimed by another owner"};
    }
    claims_.emplace_hint(it, Claimed{CompactBlob::CopyOf(key), std::move(owner)});
    return ClaimOutcome::kNewlyClaimed;
  }

  // Removes the claim on `key` if `owner` holds it. Returns false (and changes nothing) if the
  // key is free or held by someone else.
  bool Release(std::string_view key, const Owner& owner) {
    auto it = claims_.find(key);
    if (it == claims_.end() || !(it->owner == owner)) return false;
    claims_.erase(it);
    return true;
  }

  // The holder of `key`, or nullptr. Valid until the next Claim/Release on this partition.
  const Owner* OwnerOf(std::string_view key) const {
    auto it = claims_.find(key);
    return it == claims_.end() ? nullptr : &it->owner;
  }

  size_t size() const { return claims_.size(); }
  bool empty() const { return claims_.empty(); }

  // fn(key, owner) for every claim, in key order (a grown cluster's claims pull reads them).
  template <class Fn>
  void ForEach(Fn fn) const {
    for (const Claimed& claim : claims_) fn(claim.key.view(), claim.owner);
  }

 private:
  struct Claimed {
    CompactBlob key;
    Owner owner;
  };

  // Orders stored keys and looked-up string_views alike (byte-wise, as std::string would).
  struct KeyLess {
    using is_transparent = void;
    static std::string_view View(const Claimed& claim) { return claim.key.view(); }
    static std::string_view View(std::string_view key) { return key; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return View(a) < View(b);
    }
  };

  // A B-tree rather than a hash: no bucket array to rehash (a latency spike and twice the memory
  // for a moment) at 1M keys, and rather than std::map: the (key, owner) pairs side by side in
  // 256-byte nodes, ~35 bytes per claim for a 24-byte pair in random key order instead of a
  // 64-byte node each. Keys are stored as CompactBlob (8 bytes in the slot instead of
  // std::string's 32; an email never fits std::string's inline buffer anyway). A pointer from
  // OwnerOf() moves with any Claim or Release (as documented there).
  // A set of (key, owner) rather than a map: absl's map slots would need a copyable key to move
  // (CompactBlob is move-only); a set's element is simply moved.
  absl::btree_set<Claimed, KeyLess> claims_;
};

}  // namespace percore::storage
