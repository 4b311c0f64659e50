#include "services/payment/payment_snapshot_source.h"

#include "core/durability/log_format.h"
#include "services/payment/payment_journal.h"

namespace percore::payment {

size_t PaymentSnapshotSource::ScanPart(size_t part, const std::string* after, std::string& out,
                                       uint64_t& records, std::string* last) {
  if (part == 0) {
    return ledger_.ScanRecords(
        after, kRowsPerScan,
        [&](const std::string& id, const PaymentAttempt& attempt, const v1::PaymentResult& result) {
          durability::AppendRecord(kPaymentPut, EncodePayment(attempt, &result), out);
          ++records;
          *last = id;
        });
  }
  if (part == 1) {
    return ScanMap(ledger_.in_flight_payments(), after, kRowsPerScan, last,
                   [&](const std::string&, const InFlightPayment& payment) {
                     durability::AppendRecord(kInFlight, EncodePayment(payment.attempt, nullptr),
                                              out);
                     ++records;
                   });
  }
  size_t seen = 0;
  auto it =
      after == nullptr ? ledger_.voided_keys().begin() : ledger_.voided_keys().upper_bound(*after);
  for (; it != ledger_.voided_keys().end() && seen < kRowsPerScan; ++it, ++seen) {
    durability::AppendRecord(kKeyVoided, *it, out);
    ++records;
    *last = *it;
  }
  return seen;
}

}  // namespace percore::payment
