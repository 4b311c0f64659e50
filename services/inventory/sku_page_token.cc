#include "services/inventory/sku_page_token.h"

#include "core/base/page_token.h"
#include "services/inventory/inventory_validation.h"

namespace percore::inventory {
namespace {

constexpr PageTokenCodec kProductPages("s1.");

}  // namespace

std::string EncodeSkuPageToken(std::string_view last_sku) { return kProductPages.Encode(last_sku); }

std::optional<std::string> DecodeSkuPageToken(std::string_view token) {
  std::optional<std::string> sku = kProductPages.Decode(token);
  if (!sku || !ValidateSku(*sku, "page_token").ok()) return std::nullopt;
  return sku;
}

}  // namespace percore::inventory
