#include "services/payment/payment_attempt.h"

namespace percore::payment {

std::vector<std::string> DifferingFields(const PaymentAttempt& first, const PaymentAttempt& retry) {
  std::vector<std::string> fields;
  if (first.order_id != retry.order_id) fields.push_back("order_id");
  if (first.amount_minor != retry.amount_minor || first.currency != retry.currency) {
    fields.push_back("amount");
  }
  if (first.token != retry.token) fields.push_back("method");
  return fields;
}

}  // namespace percore::payment
