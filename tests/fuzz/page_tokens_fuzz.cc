// Fuzz target: the opaque page tokens clients send back — ListUsers' (services/user/page_token),
// ListOrders' (services/order/page_token, bound to a user id) and ListProducts'
// (services/inventory/sku_page_token). The key is random per process, so no stored input can
// hold a token that decodes; the target therefore also makes tokens from the input (an id or a
// SKU taken from it) and checks them. Checked: a token that decodes re-encodes to itself, a
// token this process made decodes to what it was made from (and, for orders, only for its
// user), and changing any one character of a made token makes it undecodable.

#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "services/inventory/inventory_validation.h"
#include "services/inventory/sku_page_token.h"
#include "services/order/order_id.h"
#include "services/order/page_token.h"
#include "services/user/page_token.h"
#include "tests/fuzz/fuzz_support.h"

namespace percore {
namespace {

// The character at `at` changed to another one (by `by`, never 0 mod 256).
std::string Changed(std::string token, size_t at, uint8_t by) {
  if (token.empty()) return token;
  at %= token.size();
  token[at] = static_cast<char>(static_cast<uint8_t>(token[at]) + (by == 0 ? 1 : by));
  return token;
}

void CheckDecode(std::string_view token, const Uuid& user) {
  if (std::optional<user::UserId> id = user::DecodePageToken(token)) {
    FUZZ_CHECK(user::EncodePageToken(*id) == token);
  }
  if (std::optional<Uuid> id = order::DecodePageToken(user, token)) {
    FUZZ_CHECK(order::EncodePageToken(user, *id) == token);
  }
  if (std::optional<std::string> sku = inventory::DecodeSkuPageToken(token)) {
    FUZZ_CHECK(inventory::EncodeSkuPageToken(*sku) == token);
  }
}

void CheckMade(const uint8_t* data, size_t size) {
  // Layout: 16 bytes of a user or order id, 16 of a user id, 1 change position, 1 change, then
  // the SKU (any bytes: the encoder must not break on them).
  if (size < 34) return;
  user::UserId user_id =
      user::UserId::FromBytes(std::string_view(reinterpret_cast<const char*>(data), 16));
  Uuid order_id = Uuid::FromBytes(std::string_view(reinterpret_cast<const char*>(data), 16));
  Uuid owner = Uuid::FromBytes(std::string_view(reinterpret_cast<const char*>(data + 16), 16));
  size_t at = data[32];
  uint8_t by = data[33];
  std::string_view sku(reinterpret_cast<const char*>(data + 34), size - 34);

  std::string user_token = user::EncodePageToken(user_id);
  FUZZ_CHECK(user::DecodePageToken(user_token) == user_id);
  FUZZ_CHECK(!user::DecodePageToken(Changed(user_token, at, by)));

  std::string order_token = order::EncodePageToken(owner, order_id);
  FUZZ_CHECK(order::DecodePageToken(owner, order_token) == order_id);
  FUZZ_CHECK(!order::DecodePageToken(owner, Changed(order_token, at, by)));
  if (owner != order_id) {  // bound to its user: another user's list rejects it
    FUZZ_CHECK(!order::DecodePageToken(order_id, order_token));
  }

  std::string sku_token = inventory::EncodeSkuPageToken(sku);
  // Pages end at stored SKUs, which are valid; a token naming anything else is refused.
  bool valid_sku = inventory::ValidateSku(sku, "sku").ok();
  FUZZ_CHECK(inventory::DecodeSkuPageToken(sku_token) ==
             (valid_sku ? std::optional<std::string>(sku) : std::nullopt));
  FUZZ_CHECK(!inventory::DecodeSkuPageToken(Changed(sku_token, at, by)));
}

}  // namespace
}  // namespace percore

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  percore::Uuid user = *percore::Uuid::Parse("01900000-0000-7000-8000-000000000000");
  percore::CheckDecode(text, user);
  percore::CheckMade(data, size);
  return 0;
}
