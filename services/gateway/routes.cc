#include "services/gateway/routes.h"

#include <string>

namespace percore::gateway {

const std::vector<Route>& RestRoutes() {
  static const std::vector<Route> routes = {
      {.http_method = "POST",
       .pattern = "/v1/users",
       .method = "/user.v1.UserService/CreateUser",
       .body = true,
       .success_status = 201,
       .location = "/v1/users/",
       .location_field = "id"},
      {.http_method = "GET",
       .pattern = "/v1/users/{id}",
       .method = "/user.v1.UserService/GetUser",
       .shard_key = ShardKey::kUuid},
      {.http_method = "PATCH",
       .pattern = "/v1/users/{id}",
       .method = "/user.v1.UserService/UpdateUser",
       .body = true,
       .shard_key = ShardKey::kUuid},
      {.http_method = "DELETE",
       .pattern = "/v1/users/{id}",
       .method = "/user.v1.UserService/DeleteUser",
       .reply = ReplyShape::kNoContent,
       .success_status = 204,
       .shard_key = ShardKey::kUuid},
      {.http_method = "GET",
       .pattern = "/v1/users",
       .method = "/user.v1.UserService/ListUsers",
       .reply = ReplyShape::kList,
       .list_field = "users"},
      {.http_method = "POST",
       .pattern = "/v1/products",
       .method = "/inventory.v1.InventoryService/CreateProduct",
       .body = true,
       .success_status = 201,
       .location = "/v1/products/",
       .location_field = "sku"},
      {.http_method = "GET",
       .pattern = "/v1/products/{sku}",
       .method = "/inventory.v1.InventoryService/GetProduct",
       .shard_key = ShardKey::kText},
      {.http_method = "GET",
       .pattern = "/v1/products",
       .method = "/inventory.v1.InventoryService/ListProducts",
       .reply = ReplyShape::kList,
       .list_field = "products"},
      {.http_method = "POST",
       .pattern = "/v1/products/{sku}:adjustStock",
       .method = "/inventory.v1.InventoryService/AdjustStock",
       .body = true,
       .shard_key = ShardKey::kText},
      {.http_method = "POST",
       .pattern = "/v1/orders",
       .method = "/order.v1.OrderService/CreateOrder",
       .body = true,
       .success_status = 201,
       .location = "/v1/orders/",
       .location_field = "id",
       .idempotency_field = "idempotency_key"},
      {.http_method = "GET",
       .pattern = "/v1/orders/{id}",
       .method = "/order.v1.OrderService/GetOrder",
       .shard_key = ShardKey::kUuid},
      {.http_method = "GET",
       .pattern = "/v1/users/{user_id}/orders",
       .method = "/order.v1.OrderService/ListOrders",
       .reply = ReplyShape::kList,
       .list_field = "orders",
       .shard_key = ShardKey::kUuid},
      {.http_method = "POST",
       .pattern = "/v1/orders/{id}:cancel",
       .method = "/order.v1.OrderService/CancelOrder",
       .body = true,
       .shard_key = ShardKey::kUuid},
      {.http_method = "GET",
       .pattern = "/v1/payments/{transaction_id}",
       .method = "/payment.v1.PaymentService/GetPayment"},
  };
  return routes;
}

namespace {

// Splits "/a/b:verb" into segments; the custom verb stays on the last one.
int Split(std::string_view path, std::string_view* out, int max) {
  int n = 0;
  size_t i = 0;
  if (!path.empty() && path[0] == '/') i = 1;
  while (i <= path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    if (n == max) return -1;
    out[n++] = path.substr(i, slash - i);
    i = slash + 1;
  }
  return n;
}

// Whether `segments` fit `route`'s pattern; fills the parameters.
bool Fits(const Route& route, const std::string_view* segments, int count, RouteMatch& match) {
  std::string_view pattern[8];
  int n = Split(route.pattern, pattern, 8);
  if (n != count) return false;
  match.param_count = 0;
  for (int i = 0; i < n; ++i) {
    std::string_view p = pattern[i];
    std::string_view s = segments[i];
    if (p.empty() || p[0] != '{') {
      if (p != s) return false;
      continue;
    }
    size_t close = p.find('}');
    std::string_view field = p.substr(1, close - 1);
    std::string_view verb = p.substr(close + 1);  // ":cancel" or ""
    if (!verb.empty()) {
      if (s.size() <= verb.size() || s.substr(s.size() - verb.size()) != verb) return false;
      s = s.substr(0, s.size() - verb.size());
    } else if (s.find(':') != std::string_view::npos) {
      return false;
    }
    if (s.empty()) return false;
    match.params[match.param_count++] = PathParam{field, s};
  }
  return true;
}

}  // namespace

RouteMatch Match(std::string_view method, std::string_view path) {
  RouteMatch match;
  std::string_view segments[8];
  int count = Split(path, segments, 8);
  if (count < 0) return match;
  // The methods a path has, for 405's Allow; few routes share a path.
  static thread_local std::string allow;
  allow.clear();
  for (const Route& route : RestRoutes()) {
    RouteMatch candidate;
    if (!Fits(route, segments, count, candidate)) continue;
    if (route.http_method == method) {
      candidate.route = &route;
      return candidate;
    }
    if (!allow.empty()) allow += ", ";
    allow += route.http_method;
  }
  match.allow = allow;
  return match;
}

}  // namespace percore::gateway
