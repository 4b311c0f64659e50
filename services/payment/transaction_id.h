#pragma once
// Threading contract: IsWellFormedTransactionId is pure (any thread); a TransactionIdGenerator
// belongs to one shard and is used only on its thread.
//
// A payment's transaction id: "txn_" and 16 lower-case hex digits (64 random bits). Ids are
// drawn until ShardFor(id) names the shard that records the payment, which is the shard of
// its idempotency key; so GetPayment and RefundPayment reach the record by hashing the id alone,
// with no index. Since an id can only ever belong to one shard, checking that shard's ledger for
// a clash makes it unique in the process.

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace percore::payment {

inline constexpr std::string_view kTransactionIdPrefix = "txn_";
inline constexpr std::string_view kTransactionIdShape = "\"txn_\" and 16 lower-case hex digits";

bool IsWellFormedTransactionId(std::string_view text);

class TransactionIdGenerator {
 public:
  explicit TransactionIdGenerator(uint64_t seed) : rng_(seed) {}
  // Draws ids until `accept(id)` holds (the id hashes to this shard and is not yet taken).
  template <class Accept>
  std::string Next(Accept accept) {
    for (;;) {
      std::string id = Format(rng_());
      if (accept(id)) return id;
    }
  }

 private:
  static std::string Format(uint64_t bits);
  std::mt19937_64 rng_;
};

}  // namespace percore::payment
