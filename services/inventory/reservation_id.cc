#include "services/inventory/reservation_id.h"

#include "core/cluster/cluster_placement.h"
#include "core/runtime/shard_for.h"

namespace percore::inventory {
namespace {
constexpr std::string_view kPrefix = "rsv_";
constexpr size_t kHexDigits = 16;
}  // namespace

bool IsReservationId(std::string_view text) {
  if (text.size() != kPrefix.size() + kHexDigits || text.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  for (char c : text.substr(kPrefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string ReservationIdGenerator::Make(uint64_t random) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Formatted in a fixed buffer and made a string once (a push per digit was ~370 instructions).
  char text[kPrefix.size() + kHexDigits];
  kPrefix.copy(text, kPrefix.size());
  for (size_t i = 0; i < kHexDigits; ++i)
    text[kPrefix.size() + i] = kHex[(random >> (60 - 4 * i)) & 0xf];
  return std::string(text, sizeof(text));
}

bool ReservationIdGenerator::OwnedBy(std::string_view id, size_t shard, size_t shards) {
  // And in this process's partition, so any member finds its owner by the id alone.
  return runtime::ShardFor(id, shards) == shard && cluster::OwnsCommerceKey(id);
}

}  // namespace percore::inventory
