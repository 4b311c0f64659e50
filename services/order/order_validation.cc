#include "services/order/order_validation.h"

#include <algorithm>
#include <set>

#include "core/base/status.h"
#include "services/order/page_token.h"

namespace percore::order {
namespace {

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

std::string Quoted(std::string_view text) {
  constexpr size_t kShown = 64;
  std::string out(1, '"');  // appended piecewise: GCC 12 misreads `"\"" + string` (-Wrestrict)
  out.append(text.substr(0, kShown));
  if (text.size() > kShown) out.append("...");
  out.push_back('"');
  return out;
}

}  // namespace

bool IsValidSku(std::string_view sku) {
  if (sku.empty() || sku.size() > 64) return false;
  return std::all_of(sku.begin(), sku.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::string CreateOrderInput::Fingerprint() const {
  std::vector<OrderLine> sorted = lines;
  std::sort(sorted.begin(), sorted.end(),
            [](const OrderLine& a, const OrderLine& b) { return a.sku < b.sku; });
  std::string out;
  for (const OrderLine& line : sorted) {
    out += line.sku;  // SKUs cannot contain the separators below
    out += '=';
    out += std::to_string(line.quantity);
    out += ';';
  }
  out += '|';
  out += payment_token;
  return out;
}

Status ValidateCreateOrder(const v1::CreateOrderRequest& request, CreateOrderInput* input) {
  if (Status status = ParseUuidField(request.user_id(), "user_id", &input->user_id); !status.ok()) {
    return status;
  }
  if (request.items_size() == 0) return Invalid("items must contain at least one line item");
  if (request.items_size() > kMaxLineItems) {
    return Invalid("items has " + std::to_string(request.items_size()) + " line items; at most " +
                   std::to_string(kMaxLineItems));
  }
  std::set<std::string_view> seen;
  input->lines.clear();
  for (int i = 0; i < request.items_size(); ++i) {
    const v1::LineItem& item = request.items(i);
    // Named only for an error: the name's formatting cost more than the checks.
    auto field = [i] { return "items[" + std::to_string(i) + "]"; };
    if (item.sku().empty()) return Invalid(field() + ".sku is required");
    if (!IsValidSku(item.sku())) {
      return Invalid(field() + ".sku must be 1 to 64 characters of [A-Za-z0-9._-], got " +
                     Quoted(item.sku()));
    }
    if (item.quantity() <= 0) {
      return Invalid(field() + ".quantity must be greater than 0, got " +
                     std::to_string(item.quantity()));
    }
    // One line cannot repeat a SKU: no set (a node allocation) for the common single-line order.
    if (request.items_size() > 1 && !seen.insert(item.sku()).second) {
      return Invalid(field() + ".sku " + Quoted(item.sku()) +
                     " appears more than once in items; give each SKU once with its total "
                     "quantity");
    }
    input->lines.push_back(OrderLine{item.sku(), item.quantity()});
  }
  if (request.payment_method().token().empty()) return Invalid("payment_method.token is required");
  if (request.idempotency_key().size() > kMaxIdempotencyKeyBytes) {
    return Invalid("idempotency_key is " + std::to_string(request.idempotency_key().size()) +
                   " bytes; at most " + std::to_string(kMaxIdempotencyKeyBytes));
  }
  input->payment_token = request.payment_method().token();
  input->idempotency_key = request.idempotency_key();
  return Status();
}

Result<WatchTarget> ValidateWatchTarget(const v1::WatchOrderUpdatesRequest& request) {
  WatchTarget target;
  Status status;
  switch (request.target_case()) {
    case v1::WatchOrderUpdatesRequest::kUserId:
      target.whole_user = true;
      status = ParseUuidField(request.user_id(), "user_id", &target.id);
      break;
    case v1::WatchOrderUpdatesRequest::kOrderId:
      status = ParseUuidField(request.order_id(), "order_id", &target.id);
      break;
    default:
      status = Status(StatusCode::kInvalidArgument, "target is required: set user_id or order_id");
  }
  if (!status.ok()) return status;
  return target;
}

Result<OrderPage> ValidateListOrders(const v1::ListOrdersRequest& request) {
  constexpr int kDefaultPageSize = 100;
  constexpr int kMaxPageSize = 1000;
  OrderPage page;
  if (Status status = ParseUuidField(request.user_id(), "user_id", &page.user); !status.ok()) {
    return status;
  }
  if (request.page_size() < 0) {
    return Status(StatusCode::kInvalidArgument,
                  "page_size must not be negative, got " + std::to_string(request.page_size()));
  }
  page.size = static_cast<size_t>(
      request.page_size() == 0 ? kDefaultPageSize : std::min(request.page_size(), kMaxPageSize));
  if (!request.page_token().empty()) {
    page.after = DecodePageToken(page.user, request.page_token());
    if (!page.after) {
      return Status(StatusCode::kInvalidArgument,
                    "page_token was not issued by this server for this user_id");
    }
  }
  return page;
}

}  // namespace percore::order
