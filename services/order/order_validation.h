#pragma once
// Threading contract: pure functions and values; any thread.
//
// The field rules of CreateOrder (proto/order/v1/order.proto). A failure is INVALID_ARGUMENT
// with a message naming the field ("items[2].quantity"); the validated request is a plain
// value that can be moved to the shard owning the user.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/result.h"
#include "core/base/status.h"
#include "order/v1/order.pb.h"
#include "services/order/order_id.h"

namespace percore::order {

namespace v1 = ::order::v1;

constexpr size_t kMaxIdempotencyKeyBytes = 128;
constexpr int kMaxLineItems = 100;

struct OrderLine {
  std::string sku;
  int64_t quantity = 0;
  bool operator==(const OrderLine&) const = default;
};

struct CreateOrderInput {
  Uuid user_id;
  std::vector<OrderLine> lines;  // in request order, each SKU once
  std::string payment_token;
  std::string idempotency_key;  // empty: no idempotency

  // What a retry with the same idempotency key must repeat: the lines (in any order) and the
  // payment method.
  std::string Fingerprint() const;
};

Status ValidateCreateOrder(const v1::CreateOrderRequest& request, CreateOrderInput* input);

// What a WatchOrderUpdates watches: every order of one user, or one order. INVALID_ARGUMENT
// names the field when neither is set or the id is not a UUID.
struct WatchTarget {
  bool whole_user = false;
  Uuid id;
};
Result<WatchTarget> ValidateWatchTarget(const v1::WatchOrderUpdatesRequest& request);

// A ListOrders page as asked: the user, the size (0 means 100, capped at 1000) and the order id
// to continue after (from a page_token issued for this user).
struct OrderPage {
  Uuid user;
  size_t size = 0;
  std::optional<Uuid> after;
};
Result<OrderPage> ValidateListOrders(const v1::ListOrdersRequest& request);

// A SKU as inventory.v1 accepts it: 1..64 characters of [A-Za-z0-9._-].
bool IsValidSku(std::string_view sku);

}  // namespace percore::order
