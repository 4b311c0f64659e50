#include "services/order/order_handler.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/cluster/cluster_placement.h"
#include "core/rpc/page_writer.h"
#include "core/runtime/runtime.h"
#include "core/runtime/shard_for.h"
#include "services/order/order_clock.h"
#include "services/order/order_handler_common.h"
#include "services/order/page_token.h"

namespace percore::order {
namespace {

using google::protobuf::util::TimeUtil;

constexpr char kNextPageTokenKey[] = "next-page-token";

// Keys looked at per task of a sweep.
constexpr size_t kSweepSlice = 1024;

// A sweep every quarter of the retention (so a key lives at most 1.25 retentions), at most
// once a minute and at least every 100 ms.
std::chrono::nanoseconds SweepInterval(std::chrono::seconds retention) {
  return std::clamp<std::chrono::nanoseconds>(retention / 4, std::chrono::milliseconds(100),
                                              std::chrono::seconds(60));
}

}  // namespace

OrderHandler::OrderHandler(runtime::Shard& shard, Def* def, clients::ServiceClients clients,
                           OrderServiceOptions options, OrderJournals* journals)
    : shard_(shard),
      runtime_(shard.runtime()),
      def_(def),
      options_(options),
      env_{&shard, &store_, std::move(clients), options},
      ids_(std::random_device{}() ^ (uint64_t{shard.id()} << 32)) {
  if (options_.idempotency_retention.count() > 0) {
    shard_.RunAfter(SweepInterval(options_.idempotency_retention), [this] { SweepKeys(); });
  }
  if (journals == nullptr) return;
  moved_ = journals->moved();
  Restore(journals->TakeShard(shard));
  env_.journal = journals->journal(shard.id());
  if (env_.journal) env_.journal->EnableSnapshots(&snapshot_source_, journals->snapshot_policy());
}

void OrderHandler::Restore(OrderRestore restore) {
  for (OrderState& state : restore.orders) {
    Uuid order_id = *Uuid::Parse(state.order.id());
    Uuid user_id = *Uuid::Parse(state.order.user_id());
    OrderStore::Record& record =
        store_.Commit(order_id, user_id, state.order, v1::ORDER_STATUS_UNSPECIFIED);
    std::shared_ptr<OrderSaga> saga;
    if (state.phase != SagaPhase::kSettled) {
      saga = OrderSaga::ForRecovery(&env_, order_id, state);
      record.saga = saga;  // a cancel or a repeated CreateOrder waits for it
      recovered_.push_back(saga);
    }
    // A key whose retention ran out before the restart stays released.
    const bool expired =
        !saga && options_.idempotency_retention.count() > 0 &&
        TimeUtil::TimestampToNanoseconds(state.order.updated_at()) <
            NowNanos() - std::chrono::nanoseconds(options_.idempotency_retention).count();
    if (!state.order.idempotency_key().empty() && !expired) {
      store_.ClaimKey(user_id, state.order.idempotency_key(),
                      OrderStore::IdempotencyEntry{state.fingerprint, order_id, saga});
    }
  }
}

void OrderHandler::SweepKeys() {
  const int64_t cutoff =
      NowNanos() - std::chrono::nanoseconds(options_.idempotency_retention).count();
  size_t released = 0;
  const bool more = store_.ExpireKeys(cutoff, kSweepSlice, sweep_cursor_, &released);
  keys_expired_ += released;
  if (more) {
    shard_.Submit([this] { SweepKeys(); });  // the next slice, behind the requests in hand
  } else {
    shard_.RunAfter(SweepInterval(options_.idempotency_retention), [this] { SweepKeys(); });
  }
}

void OrderHandler::ResumeRecovered(std::function<void()> done) {
  std::vector<std::shared_ptr<OrderSaga>> sagas = std::move(recovered_);
  recovered_.clear();
  if (sagas.empty()) {
    done();
    return;
  }
  auto left = std::make_shared<size_t>(sagas.size());
  for (auto& saga : sagas) {
    saga->AddWaiter([left, done](const Status&, const v1::Order&) {
      if (--*left == 0) done();
    });
  }
  for (auto& saga : sagas) saga->Resume();
}

runtime::ShardId OrderHandler::OwnerOf(const Uuid& id) const {
  return runtime::ShardFor(id.view(), runtime_.size());
}

runtime::ShardId OrderHandler::OwnerOfOrder(const Uuid& id) const {
  if (moved_ && !moved_->empty()) {
    auto it = moved_->find(id);
    if (it != moved_->end()) return it->second;
  }
  return OwnerOf(id);
}

void OrderHandler::RunOn(runtime::ShardId owner, std::function<void()> fn) {
  if (owner == shard_.id()) {
    fn();
  } else {
    runtime_.SubmitTo(owner, std::move(fn));
  }
}

OrderSaga::Reply OrderHandler::Park(Finisher finish) {
  uint64_t id = next_park_id_++;
  parked_.emplace(id, std::move(finish));
  return [runtime = &runtime_, home = shard_.id(), def = def_, id](const Status& status,
                                                                   const v1::Order& order) {
    if (runtime::Shard::Current()->id() == home) {
      Here(def).Unpark(id, status, order);
      return;
    }
    runtime->SubmitTo(home, [def, id, status, order] { Here(def).Unpark(id, status, order); });
  };
}

void OrderHandler::Unpark(uint64_t id, const Status& status, const v1::Order& order) {
  auto it = parked_.find(id);
  if (it == parked_.end()) return;
  Finisher finish = std::move(it->second);
  parked_.erase(it);
  finish(status, order);
}

// ---- CreateOrder ----

void OrderHandler::CreateOrder(rpc::UnaryCall<v1::CreateOrderRequest, v1::Order> call) {
  CreateOrderInput input;
  if (Status status = ValidateCreateOrder(call.request(), &input); !status.ok()) {
    call.Finish(status);
    return;
  }
  auto deadline = call.deadline();
  runtime::ShardId owner = OwnerOf(input.user_id);
  OrderSaga::Reply reply = Park([call](const Status& status, const v1::Order& order) {
    if (status.ok()) {
      call.Finish(order);
    } else {
      call.Finish(status);
    }
  });
  RunOn(owner,
        [def = def_, input = std::move(input), deadline, reply = std::move(reply)]() mutable {
          Here(def).CreateOnOwner(std::move(input), deadline, std::move(reply));
        });
}

void OrderHandler::CreateOnOwner(CreateOrderInput&& input,
                                 std::chrono::system_clock::time_point deadline,
                                 OrderSaga::Reply reply) {
  std::string fingerprint;  // only a request with an idempotency key has one
  if (!input.idempotency_key.empty()) {
    fingerprint = input.Fingerprint();
    if (OrderStore::IdempotencyEntry* entry =
            store_.FindKey(input.user_id, input.idempotency_key)) {
      if (entry->fingerprint != fingerprint) {
        reply(Status(StatusCode::kFailedPrecondition,
                     "idempotency_key \"" + input.idempotency_key +
                         "\" was already used for order " + entry->order_id.ToString() +
                         " with different items or payment_method; use a new key"),
              v1::Order());
        return;
      }
      if (entry->saga) {  // the first request is still in flight: wait for its outcome
        entry->saga->AddWaiter(std::move(reply));
        return;
      }
      if (OrderStore::Record* record = store_.Find(entry->order_id)) {
        // Acknowledged as the first answer was: once the order's state is durable.
        if (env_.journal != nullptr) {
          env_.journal->AfterAllDurable(
              [reply = std::move(reply), order = record->order](const Status& durable) {
                if (durable.ok()) {
                  reply(Status(), order);
                } else {
                  reply(durable, v1::Order());  // not durable: not acknowledged
                }
              });
        } else {
          reply(Status(), record->order);
        }
        return;
      }
      reply(Status(StatusCode::kInternal, "idempotency_key names a missing order"), v1::Order());
      return;
    }
  }
  if (env_.journal != nullptr) {
    if (Status writable = env_.journal->CheckWritable(); !writable.ok()) {
      reply(writable, v1::Order());
      return;
    }
  }
  Uuid order_id = ids_.Next(NowNanos(), [this](const Uuid& candidate) {
    // Stays here: this shard, this process's partition (core/cluster/cluster_placement.h).
    return runtime::ShardFor(candidate.view(), runtime_.size()) == shard_.id() &&
           cluster::OwnsId(candidate.view());
  });
  OrderStore::IdempotencyEntry* claimed = nullptr;
  if (!input.idempotency_key.empty()) {
    claimed = &store_.ClaimKey(input.user_id, input.idempotency_key,
                               OrderStore::IdempotencyEntry{fingerprint, order_id, nullptr});
  }
  auto saga =
      OrderSaga::ForCreate(&env_, order_id, std::move(input), std::move(fingerprint), deadline);
  if (claimed) claimed->saga = saga;
  saga->AddWaiter(std::move(reply));
  saga->Start();
}

// ---- GetOrder, ListOrders ----

void OrderHandler::GetOrder(rpc::UnaryCall<v1::GetOrderRequest, v1::Order> call) {
  Uuid id;
  if (Status status = ParseUuidField(call.request().id(), "id", &id); !status.ok()) {
    call.Finish(status);
    return;
  }
  runtime_.Hop(
      OwnerOfOrder(id),
      [def = def_, id]() -> std::optional<v1::Order> {
        OrderStore::Record* record = Here(def).store().Find(id);
        if (!record) return std::nullopt;
        return record->order;
      },
      [call, id, owner = call.required_owner()](std::optional<v1::Order> order) {
        if (!order) {
          call.Finish(OrderNotFound(id));
        } else if (!owner.empty() && order->user_id() != owner) {
          call.Finish(NotTheirs("GetOrder"));
        } else {
          call.Finish(*order);
        }
      });
}

void OrderHandler::ListOrders(rpc::ServerStream<v1::ListOrdersRequest, v1::Order> call) {
  Result<OrderPage> page = ValidateListOrders(call.request());
  if (!page.ok()) {
    call.Finish(page.status());
    return;
  }
  Uuid user = page->user;
  if (options_.cluster_list && options_.cluster_list(call, user.view())) return;
  std::optional<Uuid> after = page->after;
  size_t size = page->size;
  runtime_.Hop(
      OwnerOf(user),
      // One more than a page: whether another page follows.
      [def = def_, user, after, size] {
        return Here(def).store().ListAfter(user, after, size + 1);
      },
      [call, user, size](std::vector<std::pair<Uuid, v1::Order>> items) {
        if (items.size() > size) {
          items.resize(size);
          call.AddTrailingMetadata(kNextPageTokenKey, EncodePageToken(user, items.back().first));
        }
        rpc::WritePage(call, std::move(items),
                       [](const auto& item) -> const v1::Order& { return item.second; });
      });
}

// ---- CancelOrder ----

void OrderHandler::CancelOrder(rpc::UnaryCall<v1::CancelOrderRequest, v1::Order> call) {
  Uuid id;
  if (Status status = ParseUuidField(call.request().id(), "id", &id); !status.ok()) {
    call.Finish(status);
    return;
  }
  OrderSaga::Reply reply = Park([call](const Status& status, const v1::Order& order) {
    if (status.ok()) {
      call.Finish(order);
    } else {
      call.Finish(status);
    }
  });
  RunOn(OwnerOfOrder(id),
        [def = def_, id, owner = call.required_owner(), reply = std::move(reply)]() mutable {
          Here(def).CancelOnOwner(id, owner, std::move(reply));
        });
}

void OrderHandler::CancelOnOwner(const Uuid& order_id, const std::string& required_owner,
                                 OrderSaga::Reply reply) {
  OrderStore::Record* record = store_.Find(order_id);
  if (!record) {
    reply(OrderNotFound(order_id), v1::Order());
    return;
  }
  if (!required_owner.empty() && record->order.user_id() != required_owner) {
    reply(NotTheirs("CancelOrder"), v1::Order());
    return;
  }
  v1::OrderStatus status = record->order.status();
  if (IsTerminal(status)) {
    reply(Status(StatusCode::kFailedPrecondition, "order " + order_id.ToString() + " is already " +
                                                      v1::OrderStatus_Name(status) +
                                                      " and cannot be cancelled"),
          v1::Order());
    return;
  }
  if (record->saga) {  // in flight (or being cancelled): cancel at the next step boundary
    record->saga->RequestCancel();
    record->saga->AddWaiter(std::move(reply));
    return;
  }
  // Settled and not terminal: CONFIRMED.
  if (env_.journal != nullptr) {
    if (Status writable = env_.journal->CheckWritable(); !writable.ok()) {
      reply(writable, v1::Order());
      return;
    }
  }
  auto saga = OrderSaga::ForCancel(&env_, order_id, *record);
  record->saga = saga;
  saga->AddWaiter(std::move(reply));
  saga->Start();
}

std::shared_ptr<OrderHandler::Def> MakeOrderService(clients::ServiceClients clients,
                                                    OrderServiceOptions options,
                                                    std::shared_ptr<OrderJournals> journals) {
  auto def = std::make_shared<OrderHandler::Def>(
      rpc::FindServiceDescriptor("order.v1.OrderService"), nullptr);
  OrderHandler::Def* raw = def.get();  // the def outlives every handler it makes
  def->set_factory([raw, clients = std::move(clients), options,
                    journals = std::move(journals)](runtime::Shard& shard) {
    return std::make_unique<OrderHandler>(shard, raw, clients, options, journals.get());
  });
  def->Unary("CreateOrder", &OrderHandler::CreateOrder);
  def->Unary("GetOrder", &OrderHandler::GetOrder);
  def->ServerStream("ListOrders", &OrderHandler::ListOrders);
  def->Unary("CancelOrder", &OrderHandler::CancelOrder);
  def->ServerStream("WatchOrderUpdates", &OrderHandler::WatchOrderUpdates);
  def->Bidi("ChatSession", &OrderHandler::ChatSession);
  return def;
}

void ResumeRecoveredOrders(OrderHandler::Def& def, runtime::Runtime& runtime,
                           std::function<void()> done) {
  // Shards finish on their own threads; the last one to finish calls done().
  auto left = std::make_shared<std::atomic<size_t>>(runtime.size());
  runtime.RunOnAll([&def, left, done](runtime::Shard& shard) {
    def.local(shard).ResumeRecovered([left, done] {
      if (left->fetch_sub(1) == 1) done();
    });
  });
}

}  // namespace percore::order
