#pragma once
// Threading contract: filled on the control thread before the server starts, read-only
// afterwards (KeyOf() from any shard).
//
// Per method, how to find the key a call is about, which decides the partition that serves it:
// "/user.v1.UserService/GetUser" -> the user id's 16 bytes, CreateUser -> the email's unique key,
// and so on (services/cluster/route_keys.cc lists them). The key is exactly what the owning
// service hashes with ShardFor, so the partition the router picks is the one whose ids and
// claims hold it. A method not listed, or a request whose key cannot be read (a malformed id),
// is served where it arrives: its handler answers it (INVALID_ARGUMENT names the field).

#include <google/protobuf/message.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/base/string_hash.h"

namespace percore::cluster {

// The routing key of a request, or nullopt to serve it here.
using KeyOf = std::function<std::optional<std::string>(const google::protobuf::Message& request)>;

class RouteTable {
 public:
  // `path`: "/package.Service/Method".
  void Add(std::string path, KeyOf key_of) { by_path_.emplace(std::move(path), std::move(key_of)); }

  // nullopt: no key (the method is not routed, or the request names none readable).
  std::optional<std::string> KeyOf(std::string_view path,
                                   const google::protobuf::Message& request) const {
    auto it = by_path_.find(path);
    if (it == by_path_.end()) return std::nullopt;
    return it->second(request);
  }
  bool Routes(std::string_view path) const { return by_path_.find(path) != by_path_.end(); }
  size_t size() const { return by_path_.size(); }

 private:
  std::unordered_map<std::string, cluster::KeyOf, TransparentStringHash, std::equal_to<>> by_path_;
};

}  // namespace percore::cluster
