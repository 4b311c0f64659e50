#include "services/payment/payment_retention.h"

#include <string>
#include <vector>

#include "core/durability/retention_sweep.h"
#include "services/payment/payment_journal.h"

namespace percore::payment {

void StartPaymentRetention(PaymentShard& shard, std::chrono::seconds retention) {
  durability::StartJournaledRetentionSweep(
      shard.shard, retention, shard.journal, kPaymentDrop,
      [&shard](int64_t cutoff, std::vector<std::string>* dropped) {
        return shard.ledger.ForgetSettled(cutoff, durability::kRetentionSlice,
                                          &shard.retention_cursor, dropped);
      });
}

}  // namespace percore::payment
