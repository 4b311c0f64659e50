#pragma once
// Threading contract: pure functions; any thread.
//
// The field rules of inventory.v1 (proto/inventory/v1/inventory.proto). Each check returns OK or
// INVALID_ARGUMENT with a message that names the field, and writes the validated value.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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
Status ValidateReserveStock(const v1::ReserveStockRequest& request, const ReserveLimits& limits,
                            ReservePlan* plan);
// Lines sorted by SKU: two requests with the same key are "the same" when these are equal.
std::vector<Line> SortedLines(std::vector<Line> lines);

}  // namespace percore::inventory
