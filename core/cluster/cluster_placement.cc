#include "core/cluster/cluster_placement.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <utility>

namespace percore::cluster {
namespace {

constexpr size_t kUuidBytes = 16;

// Every placement installed, kept for the process's life so that a reference a call took stays
// valid after a switch; the mutex guards the list on the (rare) install path only.
struct Installed {
  std::mutex mutex;
  std::vector<std::unique_ptr<const ClusterPlacement>> all;
  std::atomic<const ClusterPlacement*> current{nullptr};
};

Installed& Placements() {
  static Installed* installed = [] {
    auto* made = new Installed;
    made->all.push_back(std::make_unique<const ClusterPlacement>());
    made->current.store(made->all.back().get(), std::memory_order_release);
    return made;
  }();
  return *installed;
}

}  // namespace

size_t ClusterPlacement::PartitionsAt(uint64_t ms) const {
  size_t count = initial_partitions();
  for (const PlacementEpoch& epoch : grown) {
    if (ms < epoch.since_ms) break;
    count = epoch.partitions;
  }
  return count;
}

uint64_t UuidV7Millis(std::string_view id) {
  uint64_t ms = 0;
  for (size_t i = 0; i < 6 && i < id.size(); ++i) {
    ms = (ms << 8) | static_cast<uint8_t>(id[i]);
  }
  return ms;
}

PartitionId ClusterPlacement::OwnerOfId(std::string_view id) const {
  if (grown.empty() || id.size() != kUuidBytes) return OwnerOf(id);
  return PartitionFor(id, PartitionsAt(UuidV7Millis(id)));
}

PartitionId ClusterPlacement::OwnerOfKind(std::string_view key, KeyKind kind) const {
  switch (kind) {
    case KeyKind::kId:
      return OwnerOfId(key);
    case KeyKind::kCommerce:
      return OwnerOfCommerce(key);
    case KeyKind::kMoving:
      break;
  }
  return OwnerOf(key);
}

void InstallPlacement(ClusterPlacement placement) { SwitchPlacement(std::move(placement)); }

void SwitchPlacement(ClusterPlacement placement) {
  Installed& installed = Placements();
  std::lock_guard lock(installed.mutex);
  installed.all.push_back(std::make_unique<const ClusterPlacement>(std::move(placement)));
  installed.current.store(installed.all.back().get(), std::memory_order_release);
}

const ClusterPlacement& ProcessPlacement() {
  return *Placements().current.load(std::memory_order_acquire);
}

}  // namespace percore::cluster
