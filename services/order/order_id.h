#pragma once
// Threading contract: Uuid is a value (any thread). An OrderIdGenerator belongs to one shard's
// OrderHandler and is used only on that shard's thread.
//
// Ids as order.v1 sees them: UUIDs kept as 16 bytes, text in canonical lowercase 8-4-4-4-12
// hex. User ids (user.v1's UUIDv7s) are parsed into the same type, so the shard that owns a
// user's orders is PartitionOf(the user id's 16 bytes): the very shard that owns the user in
// UserService, which makes the in-process GetUser a same-shard call. Order ids are UUIDv7s
// drawn until they hash to that shard too, so every order of a user, its idempotency keys and
// its watchers live on one shard; and since they ascend per shard, id order is creation order.

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "core/base/status.h"

namespace percore::order {

struct Uuid {
  std::array<uint8_t, 16> bytes{};

  auto operator<=>(const Uuid&) const = default;
  std::string ToString() const;
  std::string_view view() const {
    return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  // The 8-4-4-4-12 hex form in either case; nullopt for anything else.
  static std::optional<Uuid> Parse(std::string_view text);
  static Uuid FromBytes(std::string_view sixteen_bytes);
};

// OK, or INVALID_ARGUMENT naming `field` (empty or not a UUID).
Status ParseUuidField(std::string_view text, std::string_view field, Uuid* id);

// The shard that owns `id` (a user's orders, or an order) among `shards`.
uint32_t OwnerShardOf(const Uuid& id, size_t shards);

// UUIDv7s (RFC 9562, 12-bit sub-millisecond fraction) that never repeat or go backwards on
// their shard.
class OrderIdGenerator {
 public:
  explicit OrderIdGenerator(uint64_t seed) : rng_(seed) {}
  // Draws random bits until the id is owned by `shard` of `shards` (about `shards` draws).
  Uuid Next(int64_t unix_nanos, uint32_t shard, size_t shards);

 private:
  std::mt19937_64 rng_;
  uint64_t last_stamp_ = 0;
};

}  // namespace percore::order
