#pragma once
// Threading contract: a PageTokenCodec is an immutable value; any thread (the process key is
// made once, at first use, thread-safely).
//
// The opaque next-page-token of every List method: "<prefix>" + hex(cursor) + hex(checksum),
// where the checksum is a keyed hash of the cursor (and of the scope the page belongs to, e.g.
// the user whose orders are listed), so a token the server did not issue, or one issued for
// another scope, is recognized (the caller answers INVALID_ARGUMENT) instead of silently paging
// from an arbitrary place. The key is random per process: tokens do not outlive the in-memory
// data. Each table has its own prefix ("p1." users, "o1." orders, "s1." products).

#include <optional>
#include <string>
#include <string_view>

namespace percore {

// Replaces the process's random token key (before any token is made or read: on the control
// thread, before the shards start). The members of a cluster share one (derived from their
// membership), so a page token one member issued is taken by every other.
void SetPageTokenKey(std::string key);

class PageTokenCodec {
 public:
  explicit constexpr PageTokenCodec(std::string_view prefix) : prefix_(prefix) {}

  std::string Encode(std::string_view cursor, std::string_view scope = {}) const;
  // The cursor, or nullopt when `token` was not made by Encode with this prefix and scope.
  std::optional<std::string> Decode(std::string_view token, std::string_view scope = {}) const;

 private:
  std::string_view prefix_;
};

}  // namespace percore
