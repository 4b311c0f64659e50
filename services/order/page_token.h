#pragma once
// Threading contract: pure functions; any thread (the key is fixed at first use).
//
// ListOrders' opaque next-page-token: the last order id of the page plus a checksum keyed with
// a per-process secret and the user id, so a token the server did not issue, or one issued for
// another user's list, is recognized (INVALID_ARGUMENT) instead of paging from an arbitrary
// place. Tokens do not outlive the (in-memory) process.

#include <optional>
#include <string>
#include <string_view>

#include "services/order/order_id.h"

namespace percore::order {

std::string EncodePageToken(const Uuid& user_id, const Uuid& last_order_id);
std::optional<Uuid> DecodePageToken(const Uuid& user_id, std::string_view token);

}  // namespace percore::order
