#include "services/order/page_token.h"

#include "core/base/page_token.h"

namespace percore::order {
namespace {

constexpr PageTokenCodec kOrderPages("o1.");

}  // namespace

std::string EncodePageToken(const Uuid& user_id, const Uuid& last_order_id) {
  return kOrderPages.Encode(last_order_id.view(), user_id.view());
}

std::optional<Uuid> DecodePageToken(const Uuid& user_id, std::string_view token) {
  std::optional<std::string> cursor = kOrderPages.Decode(token, user_id.view());
  if (!cursor || cursor->size() != 16) return std::nullopt;
  return Uuid::FromBytes(*cursor);
}

}  // namespace percore::order
