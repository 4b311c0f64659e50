#pragma once
// Threading contract: used only on the shard that owns the ledger (the snapshotter's steps run
// there, between requests).
//
// One shard's payments as snapshot records, a chunk at a time, each part by a key cursor
// (core/durability/keyed_snapshot_source.h): its records (kPaymentPut) by transaction id, then
// its payments in flight (kInFlight) by idempotency key, then its voided keys (kKeyVoided). Every
// payment record sets keyed state whole — a record, an in-flight payment or a voided key, never a
// delta (payment_journal.h) — so what changed after the cut is set right by the log from the cut
// (core/durability/shard_snapshotter.h).

#include <cstdint>
#include <string>

#include "core/durability/keyed_snapshot_source.h"
#include "services/payment/payment_ledger.h"

namespace percore::payment {

class PaymentSnapshotSource final : public durability::KeyedSnapshotSource {
 public:
  explicit PaymentSnapshotSource(const PaymentLedger& ledger)
      : KeyedSnapshotSource(3), ledger_(ledger) {}

 private:
  size_t ScanPart(size_t part, const std::string* after, std::string& out, uint64_t& records,
                  std::string* last) override;

  const PaymentLedger& ledger_;
};

}  // namespace percore::payment
