#pragma once
// Threading contract: the encoders and decoders are pure (any thread); RecoverPayments runs on
// the control thread before the shards start.
//
// The payment service's durable state (issue 10). Each shard logs, through its StoreJournal,
// what changes in its PaymentLedger:
//   - kPaymentPut: a payment record whole (the request it was made with and its PaymentResult)
//     when the processor's answer is recorded and when it is refunded;
//   - kInFlight: a payment handed to the processor whose answer comes later (tok_slow,
//     tok_timeout), and kInFlightDrop when it is forgotten unanswered (its last caller gave up on
//     a processor that never answers);
//   - kKeyVoided: VoidPayment marked a key with nothing recorded;
//   - kPaymentDrop: a record forgotten, with its key, once --idempotency-retention has passed
//     since its last change; recovery drops such records too.
// Every record sets keyed state whole (a record, an in-flight payment, a voided key), never a
// delta, so a fuzzy snapshot taken while serving plus the log from its cut replays to the exact
// state (core/durability/shard_snapshotter.h; payment_snapshot_source.h).
// ProcessPayment, RefundPayment and VoidPayment answer once their record is durable.
//
// The safe rule for a payment whose processor answer had not been recorded at the crash (logged
// kInFlight, no kPaymentPut after it): its outcome is unknown, so recovery records it VOIDED
// (with a transaction id and a decline_reason saying why) — never approved. A retry with the same
// key gets that VOIDED record (as after a VoidPayment), so no charge stands without a record and
// the caller knows to pay again under a new key; a real processor would be sent the void.
//
// Placement for today's --shards: a payment by ShardFor(idempotency_key), where ProcessPayment
// looks for it. Its transaction id was drawn to hash to that shard for the shard count of its
// day; when it no longer does, the id's shard gets a forward (`moved`: id -> record shard), so
// GetPayment and RefundPayment by id still find it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/base/result.h"
#include "core/durability/durability_config.h"
#include "core/durability/log_file.h"
#include "core/runtime/shard.h"
#include "payment/v1/payment.pb.h"
#include "services/payment/payment_attempt.h"

namespace percore::payment {

enum PaymentRecordType : uint32_t {
  kPaymentPut = 1,    // attempt, then the serialized payment.v1.PaymentResult
  kInFlight = 2,      // attempt
  kInFlightDrop = 3,  // idempotency key
  kKeyVoided = 4,     // idempotency key
  kPaymentDrop = 5,   // transaction id: a record past its retention, forgotten with its key
};

std::string EncodePayment(const PaymentAttempt& attempt,
                          const ::payment::v1::PaymentResult* result);
// false when the payload is damaged. `result` may be nullptr (kInFlight).
bool DecodePayment(std::string_view payload, PaymentAttempt* attempt,
                   ::payment::v1::PaymentResult* result);

struct RecoveredPayment {
  PaymentAttempt attempt;
  ::payment::v1::PaymentResult result;
};

// What recovery hands each shard.
struct PaymentRestore {
  std::vector<RecoveredPayment> payments;
  std::vector<std::string> voided_keys;
  std::unordered_map<std::string, runtime::ShardId> moved;  // transaction id -> record shard
  std::optional<durability::LogFile> log;
};

// The decline_reason of a payment recovery voided.
inline constexpr std::string_view kVoidedAtRecovery =
    "the server stopped before the payment processor answered; the payment was voided at "
    "recovery and nothing is charged: pay again with a new idempotency_key";

// Recovers the payments under `config.data_dir`/payments for `shards` shards and starts the next
// generation. `now_nanos` stamps the payments it voids; records whose last change is more than
// config.idempotency_retention before it are not kept.
Result<std::vector<PaymentRestore>> RecoverPayments(const durability::DurabilityConfig& config,
                                                    size_t shards, int64_t now_nanos,
                                                    std::string* report);

}  // namespace percore::payment
