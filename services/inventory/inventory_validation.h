#pragma once
// Threading contract: pure functions; any thread.
//
// The field and request rules of inventory.v1 (proto/inventory/v1/inventory.proto): what the gRPC
// adapter, the service API and the fuzz target all apply. Each check returns OK (or the validated
// value) or INVALID_ARGUMENT with a message that names the field.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/base/status.h"
#include "inventory/v1/inventory.pb.h"

namespace percore::inventory {

namespace v1 = ::inventory::v1;

// One validated reservation line.
struct Line {
  std::string sku;
  int64_t quantity = 0;
  bool operator==(const Line&) const = default;
};

// A validated ReserveStock request.
struct ReservePlan {
  std::string key;
  std::vector<Line> lines;  // in request order
  std::chrono::nanoseconds ttl{0};
};

struct ReserveLimits {
  std::chrono::nanoseconds default_ttl;
  std::chrono::nanoseconds max_ttl;
  size_t max_lines;
};

inline constexpr size_t kMaxSkuLength = 64;
inline constexpr size_t kMaxNameBytes = 200;
inline constexpr size_t kMaxReservationKeyBytes = 128;

// 1..64 characters of [A-Za-z0-9._-]. `field` names the request field ("sku", "lines[2].sku").
Status ValidateSku(std::string_view sku, const std::string& field);
Status ValidateCreateProduct(const v1::CreateProductRequest& request);
Result<ReservePlan> ValidateReserveStock(const v1::ReserveStockRequest& request,
                                         const ReserveLimits& limits);
// A reservation id as this service issues it (reservation_id.h), in field "reservation_id".
Status ValidateReservationId(std::string_view id);

// A ListProducts page as asked: its size (0 means `default_size`, capped at `max_size`) and the
// SKU to continue after (from page_token, which must be one this server issued).
struct ProductPage {
  size_t size = 0;
  std::optional<std::string> after;
};
Result<ProductPage> ValidateListProducts(const v1::ListProductsRequest& request, int default_size,
                                         int max_size);
// Lines sorted by SKU: two requests with the same key are "the same" when these are equal.
std::vector<Line> SortedLines(std::vector<Line> lines);

}  // namespace percore::inventory
