#include "services/payment/transaction_id.h"

namespace percore::payment {
namespace {
constexpr char kHex[] = "0123456789abcdef";
constexpr size_t kHexDigits = 16;
}  // namespace

bool IsWellFormedTransactionId(std::string_view text) {
  if (text.size() != kTransactionIdPrefix.size() + kHexDigits) return false;
  if (!text.starts_with(kTransactionIdPrefix)) return false;
  for (char c : text.substr(kTransactionIdPrefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string TransactionIdGenerator::Format(uint64_t bits) {
  std::string id(kTransactionIdPrefix);
  for (int shift = 60; shift >= 0; shift -= 4) id += kHex[(bits >> shift) & 0xf];
  return id;
}

}  // namespace percore::payment
