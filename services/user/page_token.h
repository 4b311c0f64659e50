#pragma once
// Threading contract: pure functions; any thread (the key is fixed at first use).
//
// ListUsers' opaque next-page-token: the last id of the page plus a keyed checksum, so a token
// the server did not issue is recognized (INVALID_ARGUMENT) instead of silently paging from an
// arbitrary place. The key is random per process: tokens do not outlive the (in-memory) data.

#include <optional>
#include <string>
#include <string_view>

#include "services/user/user_id.h"

namespace percore::user {

std::string EncodePageToken(const UserId& last);
std::optional<UserId> DecodePageToken(std::string_view token);

}  // namespace percore::user
