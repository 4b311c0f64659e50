// PartitionOf: which partition (and so which shard) owns a key.
//
// Threading contract: pure functions of their arguments; callable from any thread.
//
// The hash is written out here instead of using std::hash because the mapping must be the same
// in every process, build and machine: a client-side router, a gateway or a test may compute
// it independently of the server, and std::hash is allowed to differ between standard
// libraries and even between runs. Bytes are read little-endian explicitly for the same
// reason. tests/core/storage/partition_of_test.cc pins known values: changing this function
// changes which shard owns every key, so treat it like a wire format.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace percore::storage {

namespace internal {

inline constexpr uint64_t kHashSeed = 0x9e3779b97f4a7c15ULL;  // 2^64 / golden ratio
inline constexpr uint64_t kHashMul = 0xff51afd7ed558ccdULL;   // murmur3 fmix64 constants
inline constexpr uint64_t kHashMul2 = 0xc4ceb9fe1a85ec53ULL;

// Murmur3's 64-bit finalizer: every input bit affects every output bit with probability ~1/2,
// so the low bits used by `% partitions` are as good as the high ones.
constexpr uint64_t Fmix64(uint64_t h) {
  h ^= h >> 33;
  h *= kHashMul;
  h ^= h >> 33;
  h *= kHashMul2;
  h ^= h >> 33;
  return h;
}

// Up to 8 bytes as a little-endian word, independent of the host's byte order.
constexpr uint64_t LoadLe(const char* p, size_t n) {
  uint64_t w = 0;
  for (size_t i = 0; i < n; ++i) {
    w |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  }
  return w;
}

}  // namespace internal

// A 64-bit hash that is stable across processes and platforms. Eight bytes per step (ids and
// emails are 20-60 bytes, so this is a handful of multiplies), each step a bijection of the
// word given the state, then a full-avalanche finalizer. Not for adversarial inputs: keys
// come from our own id generator or are validated emails, and a skewed attacker-chosen key set
// only costs balance, never correctness.
constexpr uint64_t StableHash64(std::string_view bytes) {
  uint64_t h = internal::kHashSeed ^ (static_cast<uint64_t>(bytes.size()) * internal::kHashMul);
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    h = (h ^ internal::LoadLe(bytes.data() + i, 8)) * internal::kHashMul2;
    h ^= h >> 29;
  }
  if (i < bytes.size()) {
    h = (h ^ internal::LoadLe(bytes.data() + i, bytes.size() - i)) * internal::kHashMul2;
    h ^= h >> 29;
  }
  return internal::Fmix64(h);
}

// The partition in [0, partitions) that owns `key`. Precondition: partitions > 0 (asserted;
// release builds answer 0 rather than divide by zero).
constexpr size_t PartitionOf(std::string_view key, size_t partitions) {
  assert(partitions > 0 && "PartitionOf needs at least one partition");
  if (partitions <= 1) return 0;
  return static_cast<size_t>(StableHash64(key) % partitions);
}

}  // namespace percore::storage
