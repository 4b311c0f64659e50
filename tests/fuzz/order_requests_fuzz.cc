// Fuzz target: every method of order.v1.OrderService, from request bytes to the shard's order
// store.
//
// A session of calls (session.proto) runs against one fresh OrderStore, as on a one-shard
// server: each request is decoded and validated by the functions OrderHandler uses, and applied
// with the store's ops. The CreateOrder saga needs the other services, so it is stood in for by
// its outcome: the order is committed PENDING, then CONFIRMED (tok_approve, tok_slow) or FAILED
// (any other token), as the saga would commit it. New orders get the ids
// 01900000-0000-7000-8000-1000000000NN (in creation order); ChatSession messages (one call each)
// go through the chat agent's rules. Checked: idempotency keys return their order (or a
// mismatch), every committed change reaches the watchers subscribed to it as a decodable
// OrderUpdate, pages hold only the user's orders, ascending, and their tokens round-trip.

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "order/v1/order.pb.h"
#include "services/order/chat_agent.h"
#include "services/order/order_id.h"
#include "services/order/order_store.h"
#include "services/order/order_validation.h"
#include "services/order/page_token.h"
#include "tests/fuzz/fuzz_support.h"

namespace percore::order {
namespace {

using fuzz::DecodeRequest;

struct Shard {
  OrderStore store;
  std::map<Uuid, Uuid> owners;  // the model: order -> user
  int created = 0;
  uint64_t events = 0;  // OrderUpdates delivered to watchers
};

Uuid NewOrderId(Shard& shard) {
  Uuid id = *Uuid::Parse("01900000-0000-7000-8000-100000000000");
  id.bytes[15] = static_cast<uint8_t>(shard.created++);
  return id;
}

void Create(Shard& shard, const std::string& bytes) {
  v1::CreateOrderRequest request;
  CreateOrderInput input;
  if (!DecodeRequest(bytes, &request) || !ValidateCreateOrder(request, &input).ok()) return;
  FUZZ_CHECK(!input.lines.empty() && input.lines.size() <= kMaxLineItems);
  for (const OrderLine& line : input.lines) FUZZ_CHECK(IsValidSku(line.sku) && line.quantity > 0);
  std::string fingerprint = input.Fingerprint();
  if (!input.idempotency_key.empty()) {
    if (OrderStore::IdempotencyEntry* entry =
            shard.store.FindKey(input.user_id, input.idempotency_key)) {
      if (entry->fingerprint != fingerprint) return;  // FAILED_PRECONDITION
      OrderStore::Record* record = shard.store.Find(entry->order_id);
      FUZZ_CHECK(record != nullptr && record->user_id == input.user_id);
      return;  // the first request's order
    }
  }
  if (shard.created > 255) return;  // the id space of NewOrderId
  Uuid id = NewOrderId(shard);
  if (!input.idempotency_key.empty()) {
    shard.store.ClaimKey(input.user_id, input.idempotency_key,
                         OrderStore::IdempotencyEntry{fingerprint, id, nullptr});
  }
  v1::Order order;
  order.set_id(id.ToString());
  order.set_user_id(input.user_id.ToString());
  for (const OrderLine& line : input.lines) {
    v1::LineItem* item = order.add_items();
    item->set_sku(line.sku);
    item->set_quantity(line.quantity);
  }
  order.set_idempotency_key(input.idempotency_key);
  order.set_status(v1::ORDER_STATUS_PENDING);
  shard.store.Commit(id, input.user_id, order, v1::ORDER_STATUS_UNSPECIFIED);
  shard.owners[id] = input.user_id;
  bool approved = input.payment_token == "tok_approve" || input.payment_token == "tok_slow";
  order.set_status(approved ? v1::ORDER_STATUS_CONFIRMED : v1::ORDER_STATUS_FAILED);
  if (!approved) order.set_failure_reason("PAYMENT_DECLINED");
  shard.store.Commit(id, input.user_id, order, v1::ORDER_STATUS_PENDING);
}

void Get(Shard& shard, const std::string& bytes) {
  v1::GetOrderRequest request;
  Uuid id;
  if (!DecodeRequest(bytes, &request) || !ParseUuidField(request.id(), "id", &id).ok()) return;
  OrderStore::Record* record = shard.store.Find(id);
  FUZZ_CHECK((record != nullptr) == shard.owners.contains(id));
  if (record) FUZZ_CHECK(Uuid::Parse(record->order.id()) == id);
}

void List(Shard& shard, const std::string& bytes) {
  v1::ListOrdersRequest request;
  if (!DecodeRequest(bytes, &request)) return;
  Result<OrderPage> asked = ValidateListOrders(request);  // as OrderHandler::ListOrders
  if (!asked.ok()) return;                                // INVALID_ARGUMENT
  Uuid user = asked->user;
  std::optional<Uuid> after = asked->after;
  size_t size = asked->size;
  auto page = shard.store.ListAfter(user, after, size + 1);
  FUZZ_CHECK(page.size() <= size + 1);
  for (size_t i = 0; i < page.size(); ++i) {
    FUZZ_CHECK(shard.owners[page[i].first] == user);
    FUZZ_CHECK(!after || *after < page[i].first);
    FUZZ_CHECK(i == 0 || page[i - 1].first < page[i].first);
  }
  if (!page.empty()) {
    FUZZ_CHECK(DecodePageToken(user, EncodePageToken(user, page.back().first)) ==
               page.back().first);
  }
}

void Cancel(Shard& shard, const std::string& bytes) {
  v1::CancelOrderRequest request;
  Uuid id;
  if (!DecodeRequest(bytes, &request) || !ParseUuidField(request.id(), "id", &id).ok()) return;
  OrderStore::Record* record = shard.store.Find(id);
  if (record == nullptr || IsTerminal(record->order.status())) return;  // NOT_FOUND, or as is
  v1::Order order = record->order;
  v1::OrderStatus previous = order.status();
  order.set_status(v1::ORDER_STATUS_CANCELLED);
  shard.store.Commit(id, record->user_id, order, previous);
  FUZZ_CHECK(shard.store.Find(id)->order.status() == v1::ORDER_STATUS_CANCELLED);
}

void Watch(Shard& shard, const std::string& bytes) {
  v1::WatchOrderUpdatesRequest request;
  if (!DecodeRequest(bytes, &request)) return;
  Result<WatchTarget> target = ValidateWatchTarget(request);  // as OrderHandler
  if (!target.ok()) return;                                   // INVALID_ARGUMENT
  FeedKey key{target->whole_user ? FeedKey::kUser : FeedKey::kOrder, target->id};
  shard.store.feed().SubscribeKey(
      key, [&shard, key](const FeedKey& published, uint64_t, const OrderEvent& event) {
        FUZZ_CHECK(published == key);
        v1::OrderUpdate update;
        FUZZ_CHECK(update.ParseFromString(event.bytes));
        FUZZ_CHECK(event.terminal == IsTerminal(update.status()));
        ++shard.events;
      });
}

void Chat(Shard& shard, const std::string& bytes) {
  v1::ChatMessage message;
  if (!DecodeRequest(bytes, &message)) return;
  ChatIntent intent = UnderstandChat(message.text());
  std::string reply;
  switch (intent.kind) {
    case ChatIntent::kHelp:
      reply = ChatHelpText();
      break;
    case ChatIntent::kStatusMissingId:
      reply = ChatStatusMissingIdText();
      break;
    case ChatIntent::kStatusBadId:
      reply = ChatStatusBadIdText(intent.argument);
      break;
    case ChatIntent::kStatus: {
      OrderStore::Record* record = shard.store.Find(intent.order_id);
      std::optional<Uuid> asker = Uuid::Parse(message.user_id());
      bool visible = record && (message.user_id().empty() || (asker && *asker == record->user_id));
      reply = visible ? ChatOrderStatusText(record->order)
                      : ChatOrderNotFoundText(intent.order_id.ToString());
      break;
    }
    case ChatIntent::kOther:
      reply = ChatDefaultText();
      break;
  }
  FUZZ_CHECK(!reply.empty());
  v1::ChatResponse response;
  response.set_in_reply_to(message.message_id());
  response.set_text(reply);
  std::string wire;
  FUZZ_CHECK(response.SerializeToString(&wire));
}

void CheckOwners(Shard& shard) { FUZZ_CHECK(shard.store.size() == shard.owners.size()); }

const fuzz::Method<Shard> kMethods[] = {
    {"CreateOrder", Create},      {"GetOrder", Get},
    {"ListOrders", List},         {"CancelOrder", Cancel},
    {"WatchOrderUpdates", Watch}, {"ChatSession", Chat},
};

}  // namespace
}  // namespace percore::order

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  percore::fuzz::InitializeSessionTarget("order.v1.OrderService", percore::order::kMethods);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace percore::order;
  return percore::fuzz::RunSession(data, size, kMethods, {.at_end = CheckOwners});
}
