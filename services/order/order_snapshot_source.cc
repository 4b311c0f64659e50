#include "services/order/order_snapshot_source.h"

#include "core/durability/log_format.h"
#include "services/order/order_journal.h"
#include "services/order/order_saga.h"

namespace percore::order {

bool OrderSnapshotSource::Next(std::string& out, uint64_t& records, size_t budget) {
  while (out.size() < budget) {
    std::optional<Uuid> last;
    size_t seen = store_.ScanOrders(
        cursor_ ? &*cursor_ : nullptr, kOrdersPerScan,
        [&](const Uuid& id, const OrderStore::Record& record) {
          last = id;
          if (record.saga && !record.saga->last_logged_state().empty()) {
            durability::AppendRecord(kOrderState, record.saga->last_logged_state(), out);
          } else {
            OrderState state;
            state.order = record.order;
            state.fingerprint =
                store_.FingerprintOf(record.user_id, record.order.idempotency_key());
            durability::AppendRecord(kOrderState, EncodeOrderState(state), out);
          }
          ++records;
        });
    if (seen < kOrdersPerScan) return false;
    cursor_ = last;
  }
  return true;
}

}  // namespace percore::order
