#pragma once
// Threading contract: one OrderHandler per shard (rpc::ServiceDef), used only on its shard.
// A handler reaches another shard's orders only through the runtime: a Hop for a read, and for
// the sagas a task to the owning shard that answers back later through a parked reply (the
// call handle stays here; only its id travels).
//
// order.v1.OrderService (proto/order/v1/order.proto). Where things live:
//   - every order of a user, its idempotency keys and the feed watchers subscribe to, on shard
//     ShardFor(user id); order ids are drawn to land on the same shard (order_id.h);
//   - the saga of an order (order_saga.h) on that owning shard: it issues the client calls
//     from there and their answers come back there;
//   - calls, watchers and chats on the shard gRPC delivered them to; replies come back to it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/rpc/service_def.h"
#include "order/v1/order.grpc.pb.h"
#include "services/clients/service_clients.h"
#include "services/order/chat_conversation.h"
#include "services/order/order_id.h"
#include "services/order/order_journal.h"
#include "services/order/order_options.h"
#include "services/order/order_saga.h"
#include "services/order/order_snapshot_source.h"
#include "services/order/order_store.h"
#include "services/order/order_validation.h"
#include "services/order/order_watch.h"

namespace percore::order {

class OrderHandler {
 public:
  using Def = rpc::ServiceDef<OrderHandler>;

  // `journals`: the process's order logs (order_journal.h), or null to keep orders in memory
  // only. With them the handler loads its shard's recovered orders and makes a saga for each
  // one left mid-saga; ResumeRecovered() runs them.
  OrderHandler(runtime::Shard& shard, Def* def, clients::ServiceClients clients,
               OrderServiceOptions options, OrderJournals* journals = nullptr);

  // Once the server serves: finishes every order recovery found mid-saga on this shard, then
  // `done()` (on this shard; at once when there is none).
  void ResumeRecovered(std::function<void()> done);

  void CreateOrder(rpc::UnaryCall<v1::CreateOrderRequest, v1::Order> call);
  void GetOrder(rpc::UnaryCall<v1::GetOrderRequest, v1::Order> call);
  void ListOrders(rpc::ServerStream<v1::ListOrdersRequest, v1::Order> call);
  void CancelOrder(rpc::UnaryCall<v1::CancelOrderRequest, v1::Order> call);
  void WatchOrderUpdates(rpc::ServerStream<v1::WatchOrderUpdatesRequest, v1::OrderUpdate> call);
  void ChatSession(rpc::BidiStream<v1::ChatMessage, v1::ChatResponse> call);
  void OnDrain();

  OrderStore& store() { return store_; }
  // Orders of this shard with a compensation pending (order_saga_retry.cc), for /metrics.
  size_t compensations_pending() const { return env_.compensations_pending; }
  // What this shard holds for calls it serves (tests use them to prove nothing is left).
  size_t watch_count() const { return watches_.size(); }
  size_t chat_count() const { return chats_.size(); }
  size_t parked_reply_count() const { return parked_.size(); }

 private:
  using Finisher = std::function<void(const Status&, const v1::Order&)>;

  // Owner side: runs on the shard that owns the user's orders.
  void CreateOnOwner(CreateOrderInput&& input, std::chrono::system_clock::time_point deadline,
                     OrderSaga::Reply reply);
  // `required_owner`: the order must be this user's ("" : anyone's, as for admin).
  void CancelOnOwner(const Uuid& order_id, const std::string& required_owner,
                     OrderSaga::Reply reply);

  // Home side: keeps `finish` (which holds the call handle) here and returns a reply that may
  // be called once on any shard; it comes back here to finish the call.
  OrderSaga::Reply Park(Finisher finish);
  void Unpark(uint64_t id, const Status& status, const v1::Order& order);
  // Runs fn() on `owner`: inline when that is this shard, else as a task.
  void RunOn(runtime::ShardId owner, std::function<void()> fn);
  runtime::ShardId OwnerOf(const Uuid& id) const;
  // The shard holding order `id`: OwnerOf(id), unless recovery placed it elsewhere (another
  // --shards than the order was made with).
  runtime::ShardId OwnerOfOrder(const Uuid& id) const;
  // Loads the shard's recovered orders.
  void Restore(OrderRestore restore);
  // Releases the idempotency keys of orders settled longer than the retention ago, a slice at a
  // time (a task each, between requests), then sleeps until the next sweep.
  void SweepKeys();

  void DeliverToWatch(uint64_t watch_id, OrderEvent event);
  void EndWatch(uint64_t watch_id, const Status& status);
  OrderStore::Feed::Sink SinkFor(uint64_t watch_id);

  runtime::Shard& shard_;
  runtime::Runtime& runtime_;
  Def* def_;
  OrderServiceOptions options_;
  OrderStore store_;
  OrderSnapshotSource snapshot_source_{store_};  // what the journal's snapshots read
  OrderSaga::Env env_;
  std::shared_ptr<const std::map<Uuid, runtime::ShardId>> moved_;
  std::vector<std::shared_ptr<OrderSaga>> recovered_;  // mid-saga at the crash, until resumed
  std::optional<std::pair<Uuid, std::string>> sweep_cursor_;  // SweepKeys' place in the keys
  uint64_t keys_expired_ = 0;
  OrderIdGenerator ids_;
  uint64_t next_park_id_ = 1;
  std::unordered_map<uint64_t, Finisher> parked_;
  uint64_t next_watch_id_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<OrderWatch>> watches_;
  uint64_t next_chat_id_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<ChatConversation>> chats_;
};

// The service, for rpc::ServerHost::AddService. `clients` reach UserService, InventoryService
// and PaymentService, in this process or not.
// `journals`: null keeps orders in memory only (order_journal.h).
std::shared_ptr<OrderHandler::Def> MakeOrderService(clients::ServiceClients clients,
                                                    OrderServiceOptions options = {},
                                                    std::shared_ptr<OrderJournals> journals = {});

// Once the server serves: each shard's ResumeRecovered(); `done()` once every shard's recovered
// orders are final (on the last shard to finish).
void ResumeRecoveredOrders(OrderHandler::Def& def, runtime::Runtime& runtime,
                           std::function<void()> done);

}  // namespace percore::order
