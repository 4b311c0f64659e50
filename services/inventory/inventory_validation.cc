#include "services/inventory/inventory_validation.h"

#include <algorithm>
#include <set>

#include "core/base/status.h"
#include "services/inventory/reservation_id.h"
#include "services/inventory/sku_page_token.h"

namespace percore::inventory {
namespace {

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

bool IsSkuChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool IsBlank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  });
}

// Protobuf checks UTF-8 when it parses a proto3 string; the in-process path skips parsing, so
// the check is repeated here (it is cheap next to everything else a create does).
bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t extra;
    uint32_t min;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      min = 0x10000;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;  // truncated sequence
    uint32_t code = c & (0x3F >> extra);
    for (size_t k = 1; k <= extra; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = code << 6 | (next & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

// ValidateSku's test without the message.
bool SkuOk(std::string_view sku) {
  return !sku.empty() && sku.size() <= kMaxSkuLength &&
         std::all_of(sku.begin(), sku.end(), IsSkuChar);
}

}  // namespace

Status ValidateSku(std::string_view sku, const std::string& field) {
  if (sku.empty() || sku.size() > kMaxSkuLength) {
    return Invalid(field + " must be 1 to 64 characters, got " + std::to_string(sku.size()));
  }
  if (!std::all_of(sku.begin(), sku.end(), IsSkuChar)) {
    return Invalid(field + " may only contain A-Z a-z 0-9 . _ -");
  }
  return Status();
}

Status ValidateCreateProduct(const v1::CreateProductRequest& request) {
  if (Status status = ValidateSku(request.sku(), "sku"); !status.ok()) return status;
  const std::string& name = request.name();
  if (name.empty() || name.size() > kMaxNameBytes) {
    return Invalid("name must be 1 to 200 bytes, got " + std::to_string(name.size()));
  }
  if (IsBlank(name)) return Invalid("name must not be blank");
  if (!IsValidUtf8(name)) return Invalid("name must be valid UTF-8");
  if (!request.has_price()) return Invalid("price is required");
  const std::string& currency = request.price().currency();
  if (currency.size() != 3 ||
      !std::all_of(currency.begin(), currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return Invalid("price.currency must be three upper-case letters (ISO-4217), got \"" + currency +
                   "\"");
  }
  if (request.price().amount_minor() < 0) {
    return Invalid("price.amount_minor must be >= 0, got " +
                   std::to_string(request.price().amount_minor()));
  }
  if (request.initial_stock() < 0) {
    return Invalid("initial_stock must be >= 0, got " + std::to_string(request.initial_stock()));
  }
  return Status();
}

Result<ReservePlan> ValidateReserveStock(const v1::ReserveStockRequest& request,
                                         const ReserveLimits& limits) {
  ReservePlan plan;
  const std::string& key = request.reservation_key();
  if (key.empty()) return Invalid("reservation_key is required");
  if (key.size() > kMaxReservationKeyBytes) {
    return Invalid("reservation_key must be at most 128 bytes, got " + std::to_string(key.size()));
  }
  if (request.lines().empty()) return Invalid("lines must not be empty");
  if (static_cast<size_t>(request.lines_size()) > limits.max_lines) {
    return Invalid("lines may have at most " + std::to_string(limits.max_lines) + " entries, got " +
                   std::to_string(request.lines_size()));
  }
  plan.key = key;
  std::set<std::string_view> seen;
  for (int i = 0; i < request.lines_size(); ++i) {
    const v1::StockLine& line = request.lines(i);
    // Named only for an error: the name's formatting cost more than the checks.
    auto field = [i] { return "lines[" + std::to_string(i) + "]"; };
    if (!SkuOk(line.sku())) return ValidateSku(line.sku(), field() + ".sku");
    if (line.quantity() <= 0) {
      return Invalid(field() + ".quantity must be > 0, got " + std::to_string(line.quantity()));
    }
    // One line cannot repeat a SKU: no set (a node allocation) for the common single-line call.
    if (request.lines_size() > 1 && !seen.insert(line.sku()).second) {
      return Invalid(field() + ".sku \"" + line.sku() + "\" appears more than once in lines");
    }
    plan.lines.push_back(Line{line.sku(), line.quantity()});
  }
  plan.ttl = limits.default_ttl;
  if (request.has_ttl()) {
    const google::protobuf::Duration& ttl = request.ttl();
    // A valid Duration has nanos in (-1e9, 1e9) with the sign of seconds.
    bool well_formed = ttl.nanos() > -1'000'000'000 && ttl.nanos() < 1'000'000'000 &&
                       !(ttl.seconds() > 0 && ttl.nanos() < 0) &&
                       !(ttl.seconds() < 0 && ttl.nanos() > 0);
    if (!well_formed) return Invalid("ttl is not a valid Duration");
    auto max_seconds = std::chrono::duration_cast<std::chrono::seconds>(limits.max_ttl).count();
    if (ttl.seconds() < 0 || (ttl.seconds() == 0 && ttl.nanos() <= 0) ||
        ttl.seconds() > max_seconds) {
      return Invalid("ttl must be > 0 and at most " + std::to_string(max_seconds) + " s");
    }
    auto nanos = std::chrono::seconds(ttl.seconds()) + std::chrono::nanoseconds(ttl.nanos());
    if (nanos > limits.max_ttl) {
      return Invalid("ttl must be > 0 and at most " + std::to_string(max_seconds) + " s");
    }
    plan.ttl = nanos;
  }
  return plan;
}

Status ValidateReservationId(std::string_view id) {
  if (id.empty()) return Invalid("reservation_id is required");
  if (!IsReservationId(id)) {
    return Invalid("reservation_id \"" + std::string(id) +
                   "\" is not a reservation id (rsv_ and 16 hex digits)");
  }
  return Status();
}

Result<ProductPage> ValidateListProducts(const v1::ListProductsRequest& request, int default_size,
                                         int max_size) {
  if (request.page_size() < 0) {
    return Invalid("page_size must not be negative, got " + std::to_string(request.page_size()));
  }
  ProductPage page;
  page.size = static_cast<size_t>(
      request.page_size() == 0 ? default_size : std::min(request.page_size(), max_size));
  if (!request.page_token().empty()) {
    page.after = DecodeSkuPageToken(request.page_token());
    if (!page.after) return Invalid("page_token was not issued by this server (or has expired)");
  }
  return page;
}

std::vector<Line> SortedLines(std::vector<Line> lines) {
  std::sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) { return a.sku < b.sku; });
  return lines;
}

}  // namespace percore::inventory
