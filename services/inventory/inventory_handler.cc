#include "services/inventory/inventory_handler.h"

#include <algorithm>
#include <optional>
#include <random>

#include "core/base/status.h"
#include "core/rpc/page_writer.h"
#include "core/runtime/runtime.h"
#include "core/runtime/shard_for.h"
#include "core/storage/merge_cursor.h"
#include "services/inventory/handler_support.h"
#include "services/inventory/sku_page_token.h"

namespace percore::inventory {
namespace {
using internal::NowNanos;

// The handler of the shard this code runs on (inside a hop's work).
InventoryHandler& Here(InventoryHandler::Def* def) {
  return def->local(*runtime::Shard::Current());
}

// The `done` of an RPC: finish the call with the response or the error.
template <class Req, class Resp>
clients::Done<Resp> FinishCall(rpc::UnaryCall<Req, Resp> call) {
  return [call = std::move(call)](const Status& status, Resp response) {
    if (status.ok()) {
      call.Finish(response);
    } else {
      call.Finish(status);
    }
  };
}

template <class T>
void Answer(const Result<T>& result, const clients::Done<T>& done) {
  if (result.ok()) {
    done(Status(), *result);
  } else {
    done(result.status(), T());
  }
}

}  // namespace

InventoryHandler::InventoryHandler(runtime::Shard& shard, Def* def, InventoryServiceOptions options)
    : shard_(shard),
      runtime_(shard.runtime()),
      def_(def),
      options_(options),
      ids_(std::random_device{}() ^ (uint64_t{shard.id()} << 32)) {}

runtime::ShardId InventoryHandler::ShardOf(std::string_view key) const {
  return runtime::ShardFor(key, runtime_.size());
}

std::vector<runtime::ShardId> InventoryHandler::ShardsOf(const std::vector<Line>& lines) const {
  std::vector<runtime::ShardId> shards;
  for (const Line& line : lines) shards.push_back(ShardOf(line.sku));
  std::sort(shards.begin(), shards.end());
  shards.erase(std::unique(shards.begin(), shards.end()), shards.end());
  return shards;
}

// ---- RPCs: parse (done by the call), the shared operation, finish.

void InventoryHandler::CreateProduct(rpc::UnaryCall<v1::CreateProductRequest, v1::Product> call) {
  Create(call.request(), FinishCall(call));
}

void InventoryHandler::GetProduct(rpc::UnaryCall<v1::GetProductRequest, v1::Product> call) {
  Get(call.request(), FinishCall(call));
}

void InventoryHandler::AdjustStock(rpc::UnaryCall<v1::AdjustStockRequest, v1::Product> call) {
  Adjust(call.request(), FinishCall(call));
}

void InventoryHandler::ReserveStock(rpc::UnaryCall<v1::ReserveStockRequest, v1::Reservation> call) {
  Reserve(call.request(), FinishCall(call));
}

void InventoryHandler::CommitReservation(
    rpc::UnaryCall<v1::CommitReservationRequest, v1::Reservation> call) {
  Commit(call.request(), FinishCall(call));
}

void InventoryHandler::ReleaseReservation(
    rpc::UnaryCall<v1::ReleaseReservationRequest, v1::Reservation> call) {
  Release(call.request(), FinishCall(call));
}

// ---- Products.

void InventoryHandler::Create(const v1::CreateProductRequest& request, Done<v1::Product> done) {
  if (Status status = ValidateCreateProduct(request); !status.ok()) {
    done(status, v1::Product());
    return;
  }
  runtime_.Hop(
      ShardOf(request.sku()),
      [def = def_, request, now = NowNanos()] { return Here(def).stock().Create(request, now); },
      [done = std::move(done)](Result<v1::Product> result) { Answer(result, done); });
}

void InventoryHandler::Get(const v1::GetProductRequest& request, Done<v1::Product> done) {
  if (Status status = ValidateSku(request.sku(), "sku"); !status.ok()) {
    done(status, v1::Product());
    return;
  }
  runtime_.Hop(
      ShardOf(request.sku()),
      [def = def_, sku = request.sku()] { return Here(def).stock().Load(sku); },
      [done = std::move(done), sku = request.sku()](std::optional<v1::Product> product) {
        if (!product) {
          done(Status(StatusCode::kNotFound, "product \"" + sku + "\" not found"), v1::Product());
        } else {
          done(Status(), std::move(*product));
        }
      });
}

void InventoryHandler::Adjust(const v1::AdjustStockRequest& request, Done<v1::Product> done) {
  if (Status status = ValidateSku(request.sku(), "sku"); !status.ok()) {
    done(status, v1::Product());
    return;
  }
  runtime_.Hop(
      ShardOf(request.sku()),
      [def = def_, sku = request.sku(), delta = request.delta(), now = NowNanos()] {
        return Here(def).stock().Adjust(sku, delta, now);
      },
      [done = std::move(done)](Result<v1::Product> result) { Answer(result, done); });
}

namespace {

// One ListProducts page: every shard's run after the cursor, merged, then streamed with
// backpressure (rpc::WritePage).
class ListPage : public std::enable_shared_from_this<ListPage> {
 public:
  using Run = std::vector<std::pair<std::string, v1::Product>>;
  ListPage(rpc::ServerStream<v1::ListProductsRequest, v1::Product> stream, size_t shards,
           size_t size)
      : stream_(std::move(stream)), runs_(shards), waiting_(shards), size_(size) {}

  void AddRun(runtime::ShardId shard, Run run) {
    runs_[shard] = std::move(run);
    if (--waiting_ > 0) return;
    storage::MergedPage<std::pair<std::string, v1::Product>> page = storage::MergeSortedRuns(
        std::move(runs_), size_, [](const auto& item) -> const std::string& { return item.first; });
    items_ = std::move(page.items);
    if (page.more && !items_.empty()) {
      stream_.AddTrailingMetadata("next-page-token", EncodeSkuPageToken(items_.back().first));
    }
    rpc::WritePage(stream_, std::move(items_),
                   [](const auto& item) -> const v1::Product& { return item.second; });
  }

 private:
  rpc::ServerStream<v1::ListProductsRequest, v1::Product> stream_;
  std::vector<Run> runs_;
  size_t waiting_;
  size_t size_;
  std::vector<std::pair<std::string, v1::Product>> items_;
};

}  // namespace

void InventoryHandler::ListProducts(rpc::ServerStream<v1::ListProductsRequest, v1::Product> call) {
  const v1::ListProductsRequest& request = call.request();
  if (request.page_size() < 0) {
    call.Finish(Status(StatusCode::kInvalidArgument, "page_size must not be negative, got " +
                                                         std::to_string(request.page_size())));
    return;
  }
  int size = request.page_size() == 0 ? options_.default_page_size
                                      : std::min(request.page_size(), options_.max_page_size);
  std::optional<std::string> after;
  if (!request.page_token().empty()) {
    after = DecodeSkuPageToken(request.page_token());
    if (!after) {
      call.Finish(Status(StatusCode::kInvalidArgument,
                         "page_token was not issued by this server (or has expired)"));
      return;
    }
  }
  auto page = std::make_shared<ListPage>(call, runtime_.size(), static_cast<size_t>(size));
  for (runtime::ShardId s = 0; s < runtime_.size(); ++s) {
    // One more than a page from each shard: the merge then knows whether another page follows.
    runtime_.Hop(
        s,
        [def = def_, after, size] {
          return Here(def).stock().ScanAfter(after ? &*after : nullptr,
                                             static_cast<size_t>(size) + 1);
        },
        [page, s](ListPage::Run run) { page->AddRun(s, std::move(run)); });
  }
}

std::shared_ptr<InventoryHandler::Def> MakeInventoryService(InventoryServiceOptions options) {
  auto def = std::make_shared<InventoryHandler::Def>(
      rpc::FindServiceDescriptor("inventory.v1.InventoryService"), nullptr);
  InventoryHandler::Def* raw = def.get();  // the def outlives every handler it makes
  def->set_factory([raw, options](runtime::Shard& shard) {
    return std::make_unique<InventoryHandler>(shard, raw, options);
  });
  def->Unary("CreateProduct", &InventoryHandler::CreateProduct);
  def->Unary("GetProduct", &InventoryHandler::GetProduct);
  def->ServerStream("ListProducts", &InventoryHandler::ListProducts);
  def->Unary("AdjustStock", &InventoryHandler::AdjustStock);
  def->Unary("ReserveStock", &InventoryHandler::ReserveStock);
  def->Unary("CommitReservation", &InventoryHandler::CommitReservation);
  def->Unary("ReleaseReservation", &InventoryHandler::ReleaseReservation);
  return def;
}

}  // namespace percore::inventory
