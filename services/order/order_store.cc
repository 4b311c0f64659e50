#include "services/order/order_store.h"

#include <google/protobuf/util/time_util.h>

namespace percore::order {

bool IsTerminal(v1::OrderStatus status) {
  return status == v1::ORDER_STATUS_FAILED || status == v1::ORDER_STATUS_CANCELLED;
}

OrderStore::Record* OrderStore::Find(const Uuid& order_id) {
  const std::unique_ptr<Record>* record = orders_.Get(order_id);
  return record ? record->get() : nullptr;
}

OrderStore::Record& OrderStore::RecordOf(const Uuid& order_id, const Uuid& user_id, Record* known) {
  Record* record = known != nullptr ? known : Find(order_id);
  if (record == nullptr) {
    auto fresh = std::make_unique<Record>();
    fresh->user_id = user_id;
    record = fresh.get();
    orders_.Put(order_id, std::move(fresh));
    by_user_.Put({user_id, order_id}, true);
  }
  return *record;
}

OrderStore::Record& OrderStore::Commit(const Uuid& order_id, const Uuid& user_id,
                                       const v1::Order& order, v1::OrderStatus previous,
                                       Record* known) {
  Record& record = RecordOf(order_id, user_id, known);
  if (&record.order != &order) record.order = order;
  return Published(order_id, user_id, record, previous);
}

OrderStore::Record& OrderStore::Commit(const Uuid& order_id, const Uuid& user_id, v1::Order&& order,
                                       v1::OrderStatus previous, Record* known) {
  Record& record = RecordOf(order_id, user_id, known);
  if (&record.order != &order) record.order = std::move(order);
  return Published(order_id, user_id, record, previous);
}

OrderStore::Record& OrderStore::Published(const Uuid& order_id, const Uuid& user_id, Record& record,
                                          v1::OrderStatus previous) {
  const v1::Order& order = record.order;
  size_t bytes = order.ByteSizeLong();  // orders are never erased: only this write changes it
  bytes_ += bytes - record.bytes;
  record.bytes = bytes;

  // One event, built only if someone watches the order or its user, published under both.
  std::optional<OrderEvent> event;
  auto make_event = [&]() -> const OrderEvent& {
    if (!event) {
      v1::OrderUpdate update;
      update.set_order_id(order.id());
      update.set_status(order.status());
      update.set_previous_status(previous);
      *update.mutable_order() = order;
      *update.mutable_changed_at() = order.updated_at();
      event.emplace();
      update.SerializeToString(&event->bytes);
      event->terminal = IsTerminal(order.status());
    }
    return *event;
  };
  feed_.PublishWith(FeedKey{FeedKey::kOrder, order_id}, make_event);
  feed_.PublishWith(FeedKey{FeedKey::kUser, user_id}, make_event);
  return record;
}

std::vector<std::pair<Uuid, v1::Order>> OrderStore::ListAfter(const Uuid& user_id,
                                                              const std::optional<Uuid>& after,
                                                              size_t limit) const {
  std::vector<std::pair<Uuid, v1::Order>> out;
  // The all-zero id sorts before every real one (a UUIDv7 has version bits set).
  std::pair<Uuid, Uuid> cursor{user_id, after.value_or(Uuid{})};
  by_user_.ScanAfter(&cursor, limit, [&](const std::pair<Uuid, Uuid>& key, bool) {
    if (key.first != user_id) return;  // past this user's orders: the next user's
    const std::unique_ptr<Record>* record = orders_.Get(key.second);
    if (record) out.emplace_back(key.second, (*record)->order);
  });
  return out;
}

bool OrderStore::ExpireKeys(int64_t cutoff_nanos, size_t budget,
                            std::optional<std::pair<Uuid, std::string>>& cursor, size_t* released) {
  using google::protobuf::util::TimeUtil;
  auto it = cursor ? idempotency_.upper_bound(*cursor) : idempotency_.begin();
  for (size_t seen = 0; it != idempotency_.end() && seen < budget; ++seen) {
    const IdempotencyEntry& entry = it->second;
    const Record* record = entry.saga ? nullptr : Find(entry.order_id);
    const bool settled = record != nullptr && record->saga == nullptr &&
                         (IsTerminal(record->order.status()) ||
                          record->order.status() == v1::ORDER_STATUS_CONFIRMED);
    if (settled && TimeUtil::TimestampToNanoseconds(record->order.updated_at()) < cutoff_nanos) {
      cursor = it->first;
      it = idempotency_.erase(it);
      ++*released;
    } else {
      cursor = it->first;
      ++it;
    }
  }
  if (it == idempotency_.end()) {
    cursor.reset();
    return false;
  }
  return true;
}

std::string OrderStore::FingerprintOf(const Uuid& user_id, const std::string& key) const {
  if (key.empty()) return "";
  auto it = idempotency_.find(std::pair{user_id, key});
  return it == idempotency_.end() ? "" : it->second.fingerprint;
}

OrderStore::IdempotencyEntry* OrderStore::FindKey(const Uuid& user_id, const std::string& key) {
  auto it = idempotency_.find({user_id, key});
  return it == idempotency_.end() ? nullptr : &it->second;
}

OrderStore::IdempotencyEntry& OrderStore::ClaimKey(const Uuid& user_id, const std::string& key,
                                                   IdempotencyEntry entry) {
  return idempotency_.insert_or_assign({user_id, key}, std::move(entry)).first->second;
}

void OrderStore::ReleaseKey(const Uuid& user_id, const std::string& key) {
  idempotency_.erase({user_id, key});
}

}  // namespace percore::order
