// Fuzz target: the id parsers every service applies to client text — user ids (UUIDv7, user.v1),
// order and user ids as order.v1 parses them, transaction ids (txn_ + 16 hex) and reservation
// ids (rsv_ + 16 hex). Checked: the parsers of one shape agree, a parsed UUID prints back as the
// input in lower case, the field validators accept exactly what the parsers accept, and ids the
// generators make (seeded from the input) parse back and land on the shard they were drawn for.

#include <cctype>
#include <cstring>
#include <string>
#include <string_view>

#include "core/runtime/shard_for.h"
#include "core/storage/partition_of.h"
#include "services/inventory/reservation_id.h"
#include "services/order/order_id.h"
#include "services/payment/payment_validation.h"
#include "services/payment/transaction_id.h"
#include "services/user/user_id.h"
#include "services/user/user_validation.h"
#include "tests/fuzz/fuzz_support.h"

namespace percore {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void CheckText(std::string_view text) {
  std::optional<user::UserId> user_id = user::UserId::Parse(text);
  std::optional<Uuid> uuid = Uuid::Parse(text);
  FUZZ_CHECK(user_id.has_value() == uuid.has_value());
  if (user_id) {
    FUZZ_CHECK(user_id->view() == uuid->view());
    FUZZ_CHECK(user_id->ToString() == Lower(text));
    FUZZ_CHECK(uuid->ToString() == Lower(text));
    FUZZ_CHECK(user::UserId::FromBytes(user_id->view()) == *user_id);
  }
  user::UserId parsed_user;
  FUZZ_CHECK(user::ParseUserId(text, "id", &parsed_user).ok() == user_id.has_value());
  Uuid parsed_uuid;
  FUZZ_CHECK(ParseUuidField(text, "id", &parsed_uuid).ok() == uuid.has_value());

  bool transaction = payment::IsWellFormedTransactionId(text);
  FUZZ_CHECK(payment::ValidateTransactionId(text, "transaction_id").ok() == transaction);
  bool reservation = inventory::IsReservationId(text);
  // The two shapes differ only in their prefixes.
  FUZZ_CHECK(!(transaction && reservation));
  if (transaction) {
    FUZZ_CHECK(inventory::IsReservationId("rsv_" + std::string(text.substr(4))));
  }
}

void CheckGenerators(uint64_t seed, size_t shards, int64_t now) {
  uint32_t shard = static_cast<uint32_t>(seed % shards);
  user::UserIdGenerator users(seed);
  user::UserId user_id = users.Next(now, [&](const user::UserId& id) {
    return storage::PartitionOf(id.view(), shards) == shard;
  });
  FUZZ_CHECK(user::UserId::Parse(user_id.ToString()) == user_id);
  FUZZ_CHECK((user_id.bytes[6] >> 4) == 7);  // version 7
  user::UserId later = users.Next(now, [](const user::UserId&) { return true; });
  FUZZ_CHECK(user_id < later);  // never repeating or going backwards on a shard

  order::OrderIdGenerator orders(seed);
  auto on_shard = [&](const Uuid& id) { return runtime::ShardFor(id.view(), shards) == shard; };
  Uuid order_id = orders.Next(now, on_shard);
  FUZZ_CHECK(runtime::ShardFor(order_id.view(), shards) == shard);
  FUZZ_CHECK(Uuid::Parse(order_id.ToString()) == order_id);
  FUZZ_CHECK(order_id < orders.Next(now, on_shard));

  payment::TransactionIdGenerator transactions(seed);
  std::string transaction = transactions.Next(
      [&](const std::string& id) { return storage::PartitionOf(id, shards) == shard; });
  FUZZ_CHECK(payment::IsWellFormedTransactionId(transaction));

  inventory::ReservationIdGenerator reservations(seed);
  std::string reservation =
      reservations.Next(shard, shards, [](const std::string&) { return false; });
  FUZZ_CHECK(inventory::IsReservationId(reservation));
  FUZZ_CHECK(storage::PartitionOf(reservation, shards) == shard);
}

}  // namespace
}  // namespace percore

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  percore::CheckText(text);
  if (size >= 17) {
    uint64_t seed;
    int64_t now;
    std::memcpy(&seed, data, 8);
    std::memcpy(&now, data + 8, 8);
    // A creation time as the clock gives it: after 1970, before the 48-bit millisecond limit.
    now = static_cast<int64_t>(static_cast<uint64_t>(now) % (uint64_t{1} << 62));
    percore::CheckGenerators(seed, 1 + data[16] % 8, now);
  }
  return 0;
}
