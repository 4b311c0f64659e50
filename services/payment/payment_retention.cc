#include "services/payment/payment_retention.h"

#include <string>
#include <vector>

#include "core/durability/retention_sweep.h"
#include "services/payment/payment_journal.h"

namespace percore::payment {

void StartPaymentRetention(PaymentShard& shard, std::chrono::seconds retention) {
  durability::StartRetentionSweep(shard.shard, retention, [&shard](int64_t cutoff) {
    if (!shard.journal.CheckWritable().ok()) return false;  // the next sweep tries again
    std::vector<std::string> dropped;
    bool more = shard.ledger.ForgetSettled(cutoff, durability::kRetentionSlice,
                                           &shard.retention_cursor, &dropped);
    for (const std::string& id : dropped) shard.journal.Log(kPaymentDrop, id);
    return more;
  });
}

}  // namespace percore::payment
