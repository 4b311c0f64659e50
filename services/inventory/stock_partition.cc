#include "services/inventory/stock_partition.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>

#include "services/inventory/service_clock.h"

namespace percore::inventory {
namespace {

google::protobuf::Timestamp ToTimestamp(int64_t nanos) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(nanos);
}

void Touch(v1::Product& product, int64_t now) {
  int64_t previous = google::protobuf::util::TimeUtil::TimestampToNanoseconds(product.updated_at());
  SetTimestamp(product.mutable_updated_at(), std::max(now, previous));  // never backwards
  product.set_available(product.stock() - product.reserved());
}

std::string NotFound(const std::string& sku) { return "product \"" + sku + "\" not found"; }

}  // namespace

std::optional<v1::Product> StockPartition::Load(const std::string& sku) const {
  const v1::Product* product = rows_.Get(sku);
  if (product == nullptr) return std::nullopt;
  return *product;
}

std::vector<v1::Product> StockPartition::LoadLines(const std::vector<Line>& lines) const {
  std::vector<v1::Product> rows;
  for (const Line& line : lines) {
    if (std::optional<v1::Product> row = Load(line.sku)) rows.push_back(std::move(*row));
  }
  return rows;
}

Result<v1::Product> StockPartition::Create(const v1::CreateProductRequest& request, int64_t now) {
  if (rows_.Get(request.sku()) != nullptr) {
    return {StatusCode::kAlreadyExists, "product \"" + request.sku() + "\" already exists"};
  }
  v1::Product product;
  product.set_sku(request.sku());
  product.set_name(request.name());
  *product.mutable_price() = request.price();
  product.set_stock(request.initial_stock());
  product.set_reserved(0);
  product.set_available(request.initial_stock());
  *product.mutable_created_at() = ToTimestamp(now);
  *product.mutable_updated_at() = ToTimestamp(now);
  Store(request.sku(), product);
  return product;
}

Result<v1::Product> StockPartition::Adjust(const std::string& sku, int64_t delta, int64_t now) {
  const v1::Product* row = rows_.Get(sku);
  if (row == nullptr) return {StatusCode::kNotFound, NotFound(sku)};
  int64_t stock;
  if (__builtin_add_overflow(row->stock(), delta, &stock)) {
    return {StatusCode::kInvalidArgument,
            "delta " + std::to_string(delta) + " would overflow the stock of \"" + sku + "\""};
  }
  if (stock < row->reserved()) {
    return {StatusCode::kFailedPrecondition,
            "delta " + std::to_string(delta) + " would leave product \"" + sku + "\" with stock " +
                std::to_string(stock) + ", below the " + std::to_string(row->reserved()) +
                " units held by open reservations"};
  }
  return *Update(sku, [&](v1::Product& product) {
    product.set_stock(stock);
    Touch(product, now);
  });
}

Result<std::vector<commerce::v1::Money>> StockPartition::Hold(const std::string& reservation_id,
                                                              const std::vector<Line>& lines,
                                                              int64_t now) {
  std::vector<commerce::v1::Money> prices;
  prices.reserve(lines.size());
  for (const Line& line : lines) {  // check every line before holding any
    const v1::Product* product = rows_.Get(line.sku);
    if (product == nullptr) return {StatusCode::kNotFound, NotFound(line.sku)};
    if (line.quantity > product->available()) {
      return {StatusCode::kFailedPrecondition, "insufficient stock for sku \"" + line.sku +
                                                   "\": requested " +
                                                   std::to_string(line.quantity) + ", available " +
                                                   std::to_string(product->available())};
    }
    prices.push_back(product->price());
  }
  for (const Line& line : lines) {
    Update(line.sku, [&](v1::Product& product) {
      product.set_reserved(product.reserved() + line.quantity);
      Touch(product, now);
    });
  }
  std::vector<Line>& held = holds_[reservation_id];
  held.insert(held.end(), lines.begin(), lines.end());
  return prices;
}

void StockPartition::ReleaseHold(const std::string& reservation_id, int64_t now) {
  EndHold(reservation_id, /*sold=*/false, now);
}

void StockPartition::CommitHold(const std::string& reservation_id, int64_t now) {
  EndHold(reservation_id, /*sold=*/true, now);
}

void StockPartition::EndHold(const std::string& reservation_id, bool sold, int64_t now) {
  auto it = holds_.find(reservation_id);
  if (it == holds_.end()) return;  // settled already, or never held here
  for (const Line& line : it->second) {
    // Products are never deleted; a missing row is skipped (defensive).
    Update(line.sku, [&](v1::Product& product) {
      product.set_reserved(product.reserved() - line.quantity);
      if (sold) product.set_stock(product.stock() - line.quantity);
      Touch(product, now);
    });
  }
  holds_.erase(it);
}

void StockPartition::PrepareReturn(const std::string& reservation_id, std::vector<Line> lines) {
  returns_[reservation_id] = std::move(lines);
}

void StockPartition::ApplyReturn(const std::string& reservation_id, int64_t now) {
  auto it = returns_.find(reservation_id);
  if (it == returns_.end()) return;  // applied already, or none here
  for (const Line& line : it->second) {
    Update(line.sku, [&](v1::Product& product) {
      product.set_stock(product.stock() + line.quantity);
      Touch(product, now);
    });
  }
  returns_.erase(it);
}

void StockPartition::SetReturn(const std::string& reservation_id, std::vector<Line> lines) {
  if (lines.empty()) {
    returns_.erase(reservation_id);
  } else {
    returns_[reservation_id] = std::move(lines);
  }
}

void StockPartition::Store(const std::string& sku, v1::Product product) {
  // The serialized size, old row out and new row in: /metrics' bytes without a walk. Every
  // stored row's size is measured once stored, so its cached size is its size (Update).
  if (const v1::Product* old = rows_.Get(sku)) bytes_ -= old->GetCachedSize();
  rows_.Put(sku, std::move(product));
  bytes_ += rows_.GetMutable(sku)->ByteSizeLong();
}

void StockPartition::RestoreHold(const std::string& reservation_id,
                                 const std::vector<Line>& lines) {
  std::vector<Line>& held = holds_[reservation_id];
  held.insert(held.end(), lines.begin(), lines.end());
}

void StockPartition::SetHold(const std::string& reservation_id, std::vector<Line> lines) {
  if (lines.empty()) {
    holds_.erase(reservation_id);
  } else {
    holds_[reservation_id] = std::move(lines);
  }
}

std::vector<std::pair<std::string, v1::Product>> StockPartition::ScanAfter(const std::string* after,
                                                                           size_t limit) const {
  std::vector<std::pair<std::string, v1::Product>> run;
  auto collect = [&](const std::string& sku, const v1::Product& product) {
    run.emplace_back(sku, product);
  };
  if (after == nullptr) {
    rows_.ScanAfter(nullptr, limit, collect);
  } else {
    rows_.ScanAfter(after, limit, collect);
  }
  return run;
}

}  // namespace percore::inventory
