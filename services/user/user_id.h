#pragma once
// Threading contract: values; any thread.
//
// A user's id: a UUIDv7 (RFC 9562) kept as 16 bytes. Its text form is the canonical lowercase
// 8-4-4-4-12 hex. Byte order equals text order equals creation order: 48 bits of Unix
// milliseconds, then 12 bits of sub-millisecond fraction (RFC 9562 method 3), so ids created one
// after another, on any shard, ascend; the remaining 62 bits are random.

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace percore::user {

struct UserId {
  std::array<uint8_t, 16> bytes{};

  auto operator<=>(const UserId&) const = default;
  std::string ToString() const;
  std::string_view view() const {
    return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  // Accepts the 8-4-4-4-12 hex form (either case); nullopt for anything else.
  static std::optional<UserId> Parse(std::string_view text);
  static UserId FromBytes(std::string_view sixteen_bytes);
};

// Makes UUIDv7s on one shard, never repeating or going backwards on that shard.
class UserIdGenerator {
 public:
  explicit UserIdGenerator(uint64_t seed) : rng_(seed) {}
  // `unix_nanos`: the creation time. Draws random bits until `accept(id)` (the shard that will
  // own the id must be this one).
  template <class Accept>
  UserId Next(int64_t unix_nanos, Accept accept) {
    uint64_t ms = static_cast<uint64_t>(unix_nanos / 1000000);
    uint64_t fraction = static_cast<uint64_t>(unix_nanos % 1000000) * 4096 / 1000000;
    uint64_t stamp = (ms << 12) | fraction;  // 60 bits
    if (stamp <= last_stamp_) stamp = last_stamp_ + 1;
    last_stamp_ = stamp;
    for (;;) {
      UserId id = Make(stamp, rng_());
      if (accept(id)) return id;
    }
  }

 private:
  static UserId Make(uint64_t stamp, uint64_t random);
  std::mt19937_64 rng_;
  uint64_t last_stamp_ = 0;
};

}  // namespace percore::user
