// OrderHandler's streams: WatchOrderUpdates (subscribed on the owner's feed, delivered here),
// ChatSession, and ending them all on drain. Threading: order_handler.h.
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "core/runtime/runtime.h"
#include "services/order/order_handler.h"
#include "services/order/order_handler_common.h"

namespace percore::order {

// ---- WatchOrderUpdates ----

OrderStore::Feed::Sink OrderHandler::SinkFor(uint64_t watch_id) {
  // Runs on the owner inside its write: forward an owned copy to the watcher's shard (always as
  // a task, even to this shard, so a write never runs stream code inline).
  return [runtime = &runtime_, home = shard_.id(), def = def_, watch_id](const FeedKey&, uint64_t,
                                                                         const OrderEvent& event) {
    runtime->SubmitTo(home, [def, watch_id, event]() mutable {
      Here(def).DeliverToWatch(watch_id, std::move(event));
    });
  };
}

void OrderHandler::WatchOrderUpdates(
    rpc::ServerStream<v1::WatchOrderUpdatesRequest, v1::OrderUpdate> call) {
  const v1::WatchOrderUpdatesRequest& request = call.request();
  Result<WatchTarget> target = ValidateWatchTarget(request);
  if (!target.ok()) {
    call.Finish(target.status());
    return;
  }
  std::string required_owner = call.required_owner();
  if (target->whole_user && !required_owner.empty() && target->id.ToString() != required_owner) {
    call.Finish(NotTheirs("WatchOrderUpdates"));
    return;
  }
  if (options_.cluster_watch && options_.cluster_watch(call, target->id.view())) return;
  FeedKey key{target->whole_user ? FeedKey::kUser : FeedKey::kOrder, target->id};
  uint64_t watch_id = next_watch_id_++;
  watches_.emplace(watch_id, std::make_shared<OrderWatch>(call, key.kind == FeedKey::kOrder,
                                                          options_.watch_backlog_limit));
  call.OnCancel([this, watch_id] { EndWatch(watch_id, Status(StatusCode::kCancelled, "")); });

  struct Registration {
    bool found = true;
    bool theirs = true;
    bool terminal = false;
    storage::SubscriptionId subscription = 0;
  };
  runtime::ShardId owner = key.kind == FeedKey::kOrder ? OwnerOfOrder(key.id) : OwnerOf(key.id);
  runtime_.Hop(
      owner,
      [def = def_, key, sink = SinkFor(watch_id), required_owner] {
        OrderStore& store = Here(def).store();
        Registration registration;
        if (key.kind == FeedKey::kOrder) {
          OrderStore::Record* record = store.Find(key.id);
          if (!record) {
            registration.found = false;
            return registration;
          }
          if (!required_owner.empty() && record->order.user_id() != required_owner) {
            registration.theirs = false;
            return registration;
          }
          if (IsTerminal(record->order.status())) {  // nothing will follow
            registration.terminal = true;
            return registration;
          }
        }
        registration.subscription = store.feed().SubscribeKey(key, sink);
        return registration;
      },
      [this, watch_id, owner, key](Registration registration) {
        auto it = watches_.find(watch_id);
        if (it == watches_.end() || it->second->ended()) {  // ended meanwhile: undo
          if (registration.subscription != 0) {
            runtime_.SubmitTo(owner, [def = def_, sub = registration.subscription] {
              Here(def).store().feed().Unsubscribe(sub);
            });
          }
          return;
        }
        OrderWatch& watch = *it->second;
        if (!registration.found) {
          EndWatch(watch_id, OrderNotFound(key.id));
          return;
        }
        if (!registration.theirs) {
          EndWatch(watch_id, NotTheirs("WatchOrderUpdates"));
          return;
        }
        watch.stream().SendInitialMetadata();
        if (registration.terminal) {
          EndWatch(watch_id, Status());
          return;
        }
        watch.subscription.emplace(owner, registration.subscription);
      });
}

void OrderHandler::DeliverToWatch(uint64_t watch_id, OrderEvent event) {
  auto it = watches_.find(watch_id);
  if (it == watches_.end()) return;  // ended while the event was on its way
  std::shared_ptr<OrderWatch> watch = it->second;
  watch->Deliver(std::move(event));
  if (watch->ended()) EndWatch(watch_id, Status());  // a terminal event or overflow ended it
}

void OrderHandler::EndWatch(uint64_t watch_id, const Status& status) {
  auto it = watches_.find(watch_id);
  if (it == watches_.end()) return;
  std::shared_ptr<OrderWatch> watch = std::move(it->second);
  watches_.erase(it);
  watch->End(status);  // no-op if it ended itself
  if (watch->subscription) {
    auto [shard, sub] = *watch->subscription;
    runtime_.SubmitTo(shard,
                      [def = def_, sub = sub] { Here(def).store().feed().Unsubscribe(sub); });
    watch->subscription.reset();
  }
}

// ---- ChatSession ----

void OrderHandler::ChatSession(rpc::BidiStream<v1::ChatMessage, v1::ChatResponse> call) {
  uint64_t chat_id = next_chat_id_++;
  auto lookup = [this](const Uuid& order_id, ChatConversation::LookupDone done) {
    if (options_.cluster_order_lookup && options_.cluster_order_lookup(order_id, done)) return;
    runtime_.Hop(
        OwnerOfOrder(order_id),
        [def = def_, order_id]() -> std::optional<v1::Order> {
          OrderStore::Record* record = Here(def).store().Find(order_id);
          if (!record) return std::nullopt;
          return record->order;
        },
        std::move(done));
  };
  auto chat =
      std::make_shared<ChatConversation>(call, options_.chat_in_flight_limit, std::move(lookup),
                                         [this, chat_id] { chats_.erase(chat_id); });
  chats_.emplace(chat_id, chat);
  call.OnCancel([this, chat_id] {
    auto it = chats_.find(chat_id);
    if (it != chats_.end()) std::shared_ptr<ChatConversation>(it->second)->Abandon();
  });
  chat->Start();
}

void OrderHandler::OnDrain() {
  std::vector<uint64_t> ids;
  for (const auto& [id, watch] : watches_) ids.push_back(id);
  for (uint64_t id : ids) EndWatch(id, Status(StatusCode::kUnavailable, "server is shutting down"));
  std::vector<std::shared_ptr<ChatConversation>> chats;
  for (const auto& [id, chat] : chats_) chats.push_back(chat);
  for (auto& chat : chats) chat->End(Status(StatusCode::kUnavailable, "server is shutting down"));
}

}  // namespace percore::order
