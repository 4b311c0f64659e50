// Fuzz target: every method of inventory.v1.InventoryService, from request bytes to the shard's
// stock and reservations.
//
// A session of calls (session.proto) runs against one fresh StockPartition and ReservationBook,
// as on a one-shard server: each request is decoded and validated by the functions the service
// API uses (inventory_validation.h), and applied with the stores' ops (the service's hops, made
// directly; reservations never expire, the clock stands still). New reservations get
// the ids rsv_00000000000000NN (hex, in creation order). Checked after every call: for every
// product 0 <= reserved <= stock and available = stock - reserved, reserved equals the units
// the HELD reservations hold, and pages ascend and their tokens round-trip.

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "inventory/v1/inventory.pb.h"
#include "services/inventory/inventory_validation.h"
#include "services/inventory/reservation_book.h"
#include "services/inventory/reservation_id.h"
#include "services/inventory/sku_page_token.h"
#include "services/inventory/stock_partition.h"
#include "tests/fuzz/fuzz_support.h"

namespace percore::inventory {
namespace {

using fuzz::DecodeRequest;

constexpr int64_t kNow = 1'700'000'000'000'000'000;
// As InventoryServiceOptions' defaults.
constexpr ReserveLimits kLimits{std::chrono::seconds(60), std::chrono::hours(1), 1000};
constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

struct Shard {
  StockPartition stock;
  ReservationBook book;
  std::vector<std::string> products;  // SKUs created, for the final check
  int reservations = 0;
};

void CheckProduct(const v1::Product& product) {
  FUZZ_CHECK(product.reserved() >= 0);
  FUZZ_CHECK(product.reserved() <= product.stock());
  FUZZ_CHECK(product.available() == product.stock() - product.reserved());
}

void Create(Shard& shard, const std::string& bytes) {
  v1::CreateProductRequest request;
  if (!DecodeRequest(bytes, &request) || !ValidateCreateProduct(request).ok()) return;
  Result<v1::Product> created = shard.stock.Create(request, kNow);
  bool existed = std::find(shard.products.begin(), shard.products.end(), request.sku()) !=
                 shard.products.end();
  FUZZ_CHECK(created.ok() == !existed);
  if (!created.ok()) return;
  shard.products.push_back(request.sku());
  FUZZ_CHECK(created.value().sku() == request.sku());
  FUZZ_CHECK(created.value().stock() == request.initial_stock());
  CheckProduct(created.value());
}

void Get(Shard& shard, const std::string& bytes) {
  v1::GetProductRequest request;
  if (!DecodeRequest(bytes, &request) || !ValidateSku(request.sku(), "sku").ok()) return;
  if (std::optional<v1::Product> product = shard.stock.Load(request.sku())) CheckProduct(*product);
}

void List(Shard& shard, const std::string& bytes) {
  v1::ListProductsRequest request;
  if (!DecodeRequest(bytes, &request)) return;
  Result<ProductPage> asked = ValidateListProducts(request, kDefaultPageSize, kMaxPageSize);
  if (!asked.ok()) return;  // INVALID_ARGUMENT
  FUZZ_CHECK(asked->size > 0 && asked->size <= static_cast<size_t>(kMaxPageSize));
  const std::optional<std::string>& after = asked->after;
  size_t size = asked->size;
  auto page = shard.stock.ScanAfter(after ? &*after : nullptr, size + 1);
  FUZZ_CHECK(page.size() <= size + 1);
  for (size_t i = 0; i < page.size(); ++i) {
    FUZZ_CHECK(!after || *after < page[i].first);
    FUZZ_CHECK(i == 0 || page[i - 1].first < page[i].first);
    CheckProduct(page[i].second);
  }
  if (!page.empty()) {
    std::optional<std::string> next = DecodeSkuPageToken(EncodeSkuPageToken(page.back().first));
    FUZZ_CHECK(next && *next == page.back().first);
  }
}

void Adjust(Shard& shard, const std::string& bytes) {
  v1::AdjustStockRequest request;
  if (!DecodeRequest(bytes, &request) || !ValidateSku(request.sku(), "sku").ok()) return;
  Result<v1::Product> adjusted = shard.stock.Adjust(request.sku(), request.delta(), kNow);
  if (adjusted.ok()) CheckProduct(adjusted.value());
}

void Reserve(Shard& shard, const std::string& bytes) {
  v1::ReserveStockRequest request;
  if (!DecodeRequest(bytes, &request)) return;
  Result<ReservePlan> validated = ValidateReserveStock(request, kLimits);
  if (!validated.ok()) return;
  const ReservePlan& plan = *validated;
  FUZZ_CHECK(!plan.lines.empty() && plan.lines.size() <= kLimits.max_lines);
  FUZZ_CHECK(plan.ttl > std::chrono::nanoseconds(0) && plan.ttl <= kLimits.max_ttl);
  Result<BeginOutcome> begun =
      shard.book.Begin(plan.key, SortedLines(plan.lines), ReserveWaiter{0, 0}, [&shard] {
        char id[32];
        std::snprintf(id, sizeof(id), "rsv_%016x", shard.reservations++);
        return std::string(id);
      });
  if (!begun.ok() || begun->kind == BeginOutcome::kAnswer) return;  // a repeat
  FUZZ_CHECK(begun->kind == BeginOutcome::kStart);  // one call at a time: nothing is pending
  const std::string& id = begun->id;
  FUZZ_CHECK(IsReservationId(id) && ValidateReservationId(id).ok());
  auto held = shard.stock.Hold(id, plan.lines, kNow);
  if (!held.ok()) {
    FUZZ_CHECK(shard.book.DropPending(id).empty());  // nothing held anywhere: the key is free
    FUZZ_CHECK(shard.book.FindByKey(plan.key) == nullptr);
    return;
  }
  FUZZ_CHECK(held.value().size() == plan.lines.size());
  FUZZ_CHECK(shard.book.Activate(id, plan, *held, kNow).empty());
  FUZZ_CHECK(shard.book.Find(id)->reservation.state() == v1::Reservation::RESERVATION_STATE_HELD);
}

void Settle(Shard& shard, const std::string& id, SettleHow how) {
  if (!ValidateReservationId(id).ok()) return;  // INVALID_ARGUMENT
  Result<Settlement> settled = shard.book.Settle(id, how, kNow);
  if (!settled.ok()) return;  // NOT_FOUND, or no longer HELD
  if (how == SettleHow::kCommit) {
    shard.stock.CommitHold(id, kNow);
  } else {
    shard.stock.ReleaseHold(id, kNow);
  }
}

void Commit(Shard& shard, const std::string& bytes) {
  v1::CommitReservationRequest request;
  if (DecodeRequest(bytes, &request)) Settle(shard, request.reservation_id(), SettleHow::kCommit);
}

void Release(Shard& shard, const std::string& bytes) {
  v1::ReleaseReservationRequest request;
  if (DecodeRequest(bytes, &request)) Settle(shard, request.reservation_id(), SettleHow::kRelease);
}

// ReturnReservation as return_service.cc runs it (one shard): begun, its pending returns placed,
// decided, applied. A repeat, or a reservation never committed, changes nothing.
void Return(Shard& shard, const std::string& bytes) {
  v1::ReturnReservationRequest request;
  if (!DecodeRequest(bytes, &request)) return;
  const std::string& id = request.reservation_id();
  if (!ValidateReservationId(id).ok()) return;  // INVALID_ARGUMENT
  Result<Settlement> begun = shard.book.BeginReturn(id);
  if (!begun.ok() || begun->lines.empty()) return;  // refused, or returned once already
  shard.stock.PrepareReturn(id, begun->lines);
  shard.book.DecideReturn(id, kNow);
  shard.stock.ApplyReturn(id, kNow);
  FUZZ_CHECK(shard.book.Find(id)->reservation.state() ==
             v1::Reservation::RESERVATION_STATE_RETURNED);
  FUZZ_CHECK(shard.book.BeginReturn(id).ok() && shard.book.BeginReturn(id)->lines.empty());
}

// reserved = the units of the HELD reservations, product by product.
void CheckReserved(Shard& shard) {
  std::map<std::string, int64_t> held;
  for (int i = 0; i < shard.reservations; ++i) {
    char id[32];
    std::snprintf(id, sizeof(id), "rsv_%016x", i);
    ReservationRecord* record = shard.book.Find(id);
    if (record == nullptr ||
        record->reservation.state() != v1::Reservation::RESERVATION_STATE_HELD) {
      continue;
    }
    for (const Line& line : record->sorted_lines) held[line.sku] += line.quantity;
  }
  for (const std::string& sku : shard.products) {
    std::optional<v1::Product> product = shard.stock.Load(sku);
    FUZZ_CHECK(product.has_value());
    CheckProduct(*product);
    FUZZ_CHECK(product->reserved() == held[sku]);
  }
}

const fuzz::Method<Shard> kMethods[] = {
    {"CreateProduct", Create},       {"GetProduct", Get},           {"ListProducts", List},
    {"AdjustStock", Adjust},         {"ReserveStock", Reserve},     {"CommitReservation", Commit},
    {"ReleaseReservation", Release}, {"ReturnReservation", Return},
};

}  // namespace
}  // namespace percore::inventory

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  percore::fuzz::InitializeSessionTarget("inventory.v1.InventoryService",
                                         percore::inventory::kMethods);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace percore::inventory;
  return percore::fuzz::RunSession(data, size, kMethods, {.after_call = CheckReserved});
}
