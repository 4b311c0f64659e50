#pragma once
// Threading contract: used only on the shard that owns the store (the snapshotter's steps run
// there, between requests).
//
// One shard's orders as snapshot records (kOrderState, the same payload as the log's), a chunk
// at a time in id order. An order a saga drives is written as the saga last logged it; a settled
// order as its row, its idempotency fingerprint and phase kSettled, which is what its last
// record said. The cursor is the last order id written, so orders added between chunks never
// make the pass skip or repeat one; what changed meanwhile is in the log after the cut
// (core/durability/shard_snapshotter.h).

#include <optional>
#include <string>

#include "core/durability/shard_snapshotter.h"
#include "services/order/order_id.h"
#include "services/order/order_store.h"

namespace percore::order {

class OrderSnapshotSource final : public durability::SnapshotSource {
 public:
  explicit OrderSnapshotSource(const OrderStore& store) : store_(store) {}

  void Restart() override { cursor_.reset(); }
  bool Next(std::string& out, uint64_t& records, size_t budget) override;

 private:
  static constexpr size_t kOrdersPerScan = 32;

  const OrderStore& store_;
  std::optional<Uuid> cursor_;  // the last order id written in this pass
};

}  // namespace percore::order
