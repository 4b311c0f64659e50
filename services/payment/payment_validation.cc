#include "services/payment/payment_validation.h"

#include <string>

#include "core/base/status.h"
#include "services/payment/transaction_id.h"

namespace percore::payment {
namespace {

constexpr size_t kMaxOrderIdBytes = 128;
constexpr size_t kMaxIdempotencyKeyBytes = 128;

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

// Echoes a client value in a message, cut short so an error stays readable.
std::string Quote(std::string_view value) {
  constexpr size_t kMaxEcho = 64;
  std::string out;
  out.reserve(kMaxEcho + 5);
  out += '"';
  out.append(value.substr(0, kMaxEcho));
  if (value.size() > kMaxEcho) out += "...";
  out += '"';
  return out;
}

Status ValidateBoundedString(std::string_view value, const char* field, size_t max_bytes) {
  if (value.empty()) return Invalid(std::string(field) + " is required");
  if (value.size() > max_bytes) {
    return Invalid(std::string(field) + " must be at most " + std::to_string(max_bytes) +
                   " bytes, got " + std::to_string(value.size()));
  }
  return Status();
}

bool IsUpperAscii(char c) { return c >= 'A' && c <= 'Z'; }

}  // namespace

Status ValidateProcessRequest(const ::payment::v1::ProcessPaymentRequest& request,
                              PaymentAttempt* attempt) {
  if (Status s = ValidateBoundedString(request.order_id(), "order_id", kMaxOrderIdBytes); !s.ok()) {
    return s;
  }
  if (!request.has_amount()) return Invalid("amount is required");
  const commerce::v1::Money& amount = request.amount();
  if (amount.amount_minor() <= 0) {
    return Invalid("amount.amount_minor must be greater than 0, got " +
                   std::to_string(amount.amount_minor()));
  }
  const std::string& currency = amount.currency();
  if (currency.size() != 3 || !IsUpperAscii(currency[0]) || !IsUpperAscii(currency[1]) ||
      !IsUpperAscii(currency[2])) {
    return Invalid("amount.currency must be three upper-case ASCII letters (ISO 4217), got " +
                   Quote(currency));
  }
  const std::string& token = request.method().token();
  if (token.empty()) return Invalid("method.token is required");
  std::optional<TestToken> parsed = ParseTestToken(token);
  if (!parsed) {
    return Invalid("method.token must be one of " + std::string(KnownTestTokens()) + ", got " +
                   Quote(token));
  }
  if (Status s = ValidateBoundedString(request.idempotency_key(), "idempotency_key",
                                       kMaxIdempotencyKeyBytes);
      !s.ok()) {
    return s;
  }
  attempt->order_id = request.order_id();
  attempt->amount_minor = amount.amount_minor();
  attempt->currency = currency;
  attempt->token = *parsed;
  attempt->idempotency_key = request.idempotency_key();
  return Status();
}

Status ValidateVoidRequest(const ::payment::v1::VoidPaymentRequest& request) {
  return ValidateBoundedString(request.idempotency_key(), "idempotency_key",
                               kMaxIdempotencyKeyBytes);
}

Status ValidateTransactionId(std::string_view text, const char* field) {
  if (text.empty()) return Invalid(std::string(field) + " is required");
  if (!IsWellFormedTransactionId(text)) {
    return Invalid(std::string(field) + " must be a transaction id issued by this service (" +
                   std::string(kTransactionIdShape) + "), got " + Quote(text));
  }
  return Status();
}

Result<PaymentLookup> ValidateGetRequest(const ::payment::v1::GetPaymentRequest& request) {
  PaymentLookup lookup;
  if (request.transaction_id().empty() && !request.idempotency_key().empty()) {
    if (Status s = ValidateBoundedString(request.idempotency_key(), "idempotency_key",
                                         kMaxIdempotencyKeyBytes);
        !s.ok()) {
      return s;
    }
    lookup.idempotency_key = request.idempotency_key();
    return lookup;
  }
  if (Status s = ValidateTransactionId(request.transaction_id(), "transaction_id"); !s.ok()) {
    return s;
  }
  lookup.transaction_id = request.transaction_id();
  return lookup;
}

}  // namespace percore::payment
