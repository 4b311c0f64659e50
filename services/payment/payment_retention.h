#pragma once
// Threading contract: StartPaymentRetention on the shard's own thread (StartShard); the sweep
// runs there only.
//
// Payment records are idempotency records: each is kept --idempotency-retention after its last
// change (processed, refunded), then forgotten with its key, logged (kPaymentDrop) so recovery
// does not bring it back (core/durability/retention_sweep.h paces the sweep). A ProcessPayment
// with a forgotten key is a new payment, as with any payment API's idempotency window. In-flight
// payments and voided keys are not swept.

#include <chrono>

#include "services/payment/payment_service.h"

namespace percore::payment {

void StartPaymentRetention(PaymentShard& shard, std::chrono::seconds retention);

}  // namespace percore::payment
