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
#include "core/cluster/cluster_placement.h"

namespace percore::cluster {

// The routing key of a request, or nullopt to serve it here.
using KeyOf = std::function<std::optional<std::string>(const google::protobuf::Message& request)>;

class RouteTable {
 public:
  // `path`: "/package.Service/Method".
  // `kind`: how the key is placed once the cluster has grown (cluster_placement.h); before any
  // growth every kind lands on PartitionFor(key, P).
  void Add(std::string path, KeyOf key_of, KeyKind kind = KeyKind::kMoving) {
    by_path_.emplace(std::move(path), Route{std::move(key_of), kind});
  }

  // nullopt: no key (the method is not routed, or the request names none readable).
  std::optional<std::string> KeyOf(std::string_view path,
                                   const google::protobuf::Message& request) const {
    auto it = by_path_.find(path);
    if (it == by_path_.end()) return std::nullopt;
    return it->second.key_of(request);
  }
  KeyKind KindOf(std::string_view path) const {
    auto it = by_path_.find(path);
    return it == by_path_.end() ? KeyKind::kMoving : it->second.kind;
  }
  bool Routes(std::string_view path) const { return by_path_.find(path) != by_path_.end(); }
  size_t size() const { return by_path_.size(); }

 private:
  struct Route {
    cluster::KeyOf key_of;
    KeyKind kind;
  };
  std::unordered_map<std::string, Route, TransparentStringHash, std::equal_to<>> by_path_;
};

}  // namespace percore::cluster
