#pragma once
// Threading contract: Uuid is a value (any thread). A UuidV7Generator belongs to one shard and
// is used only on that shard's thread.
//
// UUIDs as percore's ids: 16 bytes, text in canonical lowercase 8-4-4-4-12 hex. The generator
// makes UUIDv7s (RFC 9562): 48 bits of Unix milliseconds, then 12 bits of sub-millisecond
// fraction (method 3), so byte order equals text order equals creation order; the remaining 62
// bits are random, drawn again until the caller accepts the id — how a service makes "an id that
// lands on this shard" (runtime::ShardFor(id.view()) == here) so that creating needs no hop.

#include <array>
#include <bit>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "core/base/status.h"

namespace percore {

struct Uuid {
  std::array<uint8_t, 16> bytes{};

  // Byte order, compared as two big-endian 64-bit halves: std::array's default is a memcmp
  // call, and ids are compared ~60 times per order in the stores' ordered maps.
  std::strong_ordering operator<=>(const Uuid& other) const {
    uint64_t a = Half(0), b = other.Half(0);
    if (a != b) return a <=> b;
    return Half(8) <=> other.Half(8);
  }
  bool operator==(const Uuid& other) const {
    return ((Raw(0) ^ other.Raw(0)) | (Raw(8) ^ other.Raw(8))) == 0;
  }
  // Formatted into a fixed buffer: this runs for every row served.
  std::string ToString() const;
  std::string_view view() const {
    return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  // The 8-4-4-4-12 hex form in either case; nullopt for anything else.
  static std::optional<Uuid> Parse(std::string_view text);
  static Uuid FromBytes(std::string_view sixteen_bytes);

 private:
  uint64_t Raw(size_t at) const {
    uint64_t half;
    std::memcpy(&half, bytes.data() + at, sizeof(half));
    return half;
  }
  // Bytes [at, at + 8) as a big-endian number, so numeric order is byte order.
  uint64_t Half(size_t at) const {
    if constexpr (std::endian::native == std::endian::little) return __builtin_bswap64(Raw(at));
    return Raw(at);
  }
};

// OK, or INVALID_ARGUMENT naming `field` (empty, or not a UUID: the text shown cut at 64).
Status ParseUuidField(std::string_view text, std::string_view field, Uuid* id);

// UUIDv7s that never repeat or go backwards on their shard.
class UuidV7Generator {
 public:
  explicit UuidV7Generator(uint64_t seed) : rng_(seed) {}
  // `unix_nanos`: the creation time. Draws random bits until `accept(id)`.
  template <class Accept>
  Uuid Next(int64_t unix_nanos, Accept accept) {
    uint64_t ms = static_cast<uint64_t>(unix_nanos / 1000000);
    uint64_t fraction = static_cast<uint64_t>(unix_nanos % 1000000) * 4096 / 1000000;
    uint64_t stamp = (ms << 12) | fraction;  // 60 bits
    if (stamp <= last_stamp_) stamp = last_stamp_ + 1;
    last_stamp_ = stamp;
    for (;;) {
      Uuid id = Make(stamp, rng_());
      if (accept(id)) return id;
    }
  }

 private:
  static Uuid Make(uint64_t stamp, uint64_t random);
  std::mt19937_64 rng_;
  uint64_t last_stamp_ = 0;
};

}  // namespace percore
