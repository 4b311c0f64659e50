#pragma once
// Threading contract: a value; owned strings only, so it can be moved into a hop to the shard
// that owns its idempotency key.
//
// One validated ProcessPayment request: what the processor is asked to charge, and what a retry
// under the same idempotency key must repeat exactly.

#include <cstdint>
#include <string>
#include <vector>

#include "services/payment/processor_simulator.h"

namespace percore::payment {

struct PaymentAttempt {
  std::string order_id;
  int64_t amount_minor = 0;
  std::string currency;
  TestToken token = TestToken::kApprove;
  std::string idempotency_key;
};

// The request fields ("order_id", "amount", "method") in which `retry` differs from `first`;
// empty when the retry repeats the first request.
std::vector<std::string> DifferingFields(const PaymentAttempt& first, const PaymentAttempt& retry);

}  // namespace percore::payment
