#include "services/user/page_token.h"

#include "core/base/page_token.h"

namespace percore::user {
namespace {

constexpr PageTokenCodec kUserPages("p1.");

}  // namespace

std::string EncodePageToken(const UserId& last) { return kUserPages.Encode(last.view()); }

std::optional<UserId> DecodePageToken(std::string_view token) {
  std::optional<std::string> cursor = kUserPages.Decode(token);
  if (!cursor || cursor->size() != 16) return std::nullopt;
  return UserId::FromBytes(*cursor);
}

}  // namespace percore::user
