#pragma once
// Threading contract: the table is built once (static) and read from any thread; Match() is a
// pure function (the gateway's io thread calls it).
//
// The REST routes (grpc-gateway's resource style) and how each maps onto a gRPC method: which
// path segments and query parameters become request fields, whether the body is the request,
// the success status (201 + Location for creates, 204 for deletes), lists collected from a
// server stream into {"<name>":[...],"nextPageToken":"..."}. Matching splits the path on '/'
// once and compares segments: no regex, no allocation for the match itself.

#include <string_view>
#include <vector>

namespace percore::gateway {

enum class ReplyShape {
  kMessage,    // the unary answer as the body
  kList,       // a server stream collected into {"<list_field>":[...],"nextPageToken":...}
  kNoContent,  // 204, no body
};

// Which path parameter decides the shard the call starts on (the owner of its data).
enum class ShardKey { kAny, kUuid, kText };

struct Route {
  std::string_view http_method;
  std::string_view pattern;  // "/v1/users/{id}", "/v1/orders/{id}:cancel"
  std::string_view method;   // "/order.v1.OrderService/CancelOrder"
  bool body = false;         // the JSON body is the request (path fields set on top)
  ReplyShape reply = ReplyShape::kMessage;
  int success_status = 200;
  std::string_view list_field;         // kList: "users"
  std::string_view location;           // 201: "/v1/users/" + the answer's `location_field`
  std::string_view location_field;     // "id"
  std::string_view idempotency_field;  // the Idempotency-Key header's field
  ShardKey shard_key = ShardKey::kAny;
};

const std::vector<Route>& RestRoutes();

// A path parameter: the request field and the segment's text (not decoded: ids and SKUs are
// plain).
struct PathParam {
  std::string_view field;
  std::string_view value;
};

struct RouteMatch {
  const Route* route = nullptr;  // nullptr: no route for this method and path
  PathParam params[2];
  int param_count = 0;
  // When no route matched the method: the methods the path has ("GET, POST"), or empty (404).
  std::string_view allow;
};

RouteMatch Match(std::string_view method, std::string_view path);

}  // namespace percore::gateway
