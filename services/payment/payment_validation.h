#pragma once
// Threading contract: pure functions; any thread.
//
// The field rules of proto/payment/v1/payment.proto. Each returns OK or INVALID_ARGUMENT with a
// message that names the field (as user_validation.h does for users).

#include <string>
#include <string_view>

#include "core/base/result.h"
#include "core/base/status.h"
#include "payment/v1/payment.pb.h"
#include "services/payment/payment_attempt.h"

namespace percore::payment {

// order_id: 1 to 128 bytes; amount: amount_minor > 0 and an ISO-4217-shaped currency (three
// upper-case ASCII letters); method.token: one of the simulator's test tokens; idempotency_key:
// 1 to 128 bytes. Fills `attempt` when valid.
Status ValidateProcessRequest(const ::payment::v1::ProcessPaymentRequest& request,
                              PaymentAttempt* attempt);

// VoidPaymentRequest: idempotency_key, 1 to 128 bytes (the same rule as ProcessPayment's).
Status ValidateVoidRequest(const ::payment::v1::VoidPaymentRequest& request);

// A transaction id as this service issues it (transaction_id.h). `field` names the request
// field in the message ("transaction_id").
Status ValidateTransactionId(std::string_view text, const char* field);

// GetPaymentRequest: by idempotency_key (VoidPayment's rule) when transaction_id is empty and a
// key is given, else by transaction_id. Exactly one of the two is set in the answer.
struct PaymentLookup {
  std::string transaction_id;
  std::string idempotency_key;
};
Result<PaymentLookup> ValidateGetRequest(const ::payment::v1::GetPaymentRequest& request);

}  // namespace percore::payment
