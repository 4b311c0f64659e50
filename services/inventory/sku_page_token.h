#pragma once
// Threading contract: pure functions; any thread (the key is fixed at first use).
//
// ListProducts' opaque next-page-token: the last SKU of the page plus a keyed checksum, so a
// token the server did not issue is recognized (INVALID_ARGUMENT) instead of silently paging
// from an arbitrary place. The key is random per process: tokens do not outlive the (in-memory)
// data. Same scheme as services/user/page_token, for SKU cursors.

#include <optional>
#include <string>
#include <string_view>

namespace percore::inventory {

std::string EncodeSkuPageToken(std::string_view last_sku);
// nullopt unless this process issued the token.
std::optional<std::string> DecodeSkuPageToken(std::string_view token);

}  // namespace percore::inventory
