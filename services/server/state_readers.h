#pragma once
// Threading contract: each reader made here runs on the shard it is given (StateReader); the
// service objects it holds must outlive the admin listener's scrapes (BuiltServices keeps them).
//
// The state readers of the hosted services: rows and bytes per table, open streams, held
// reservations, orders by final status and failure code, and each durable store's write-ahead
// log and snapshots (bytes, fsyncs and their time, snapshots by result, the last one's time and
// size) from its shard's LogStats (core/observe/state_metrics.h).

#include <memory>

#include "services/inventory/inventory_handler.h"
#include "services/inventory/inventory_service.h"
#include "services/order/order_handler.h"
#include "services/order/order_journal.h"
#include "services/payment/payment_service.h"
#include "services/server/state_reader.h"
#include "services/user/user_handler.h"
#include "services/user/user_service.h"

namespace percore::server {

// Table "users" (rows, bytes); streams of WatchUserUpdates.
StateReader UserStateReader(std::shared_ptr<user::UserService> service,
                            std::shared_ptr<user::UserHandler::Def> def);
// Tables "products" and "reservations"; reservations held.
StateReader InventoryStateReader(std::shared_ptr<inventory::InventoryService> service);
// Table "payments".
StateReader PaymentStateReader(std::shared_ptr<payment::PaymentService> service);
// Table "orders"; streams of WatchOrderUpdates and ChatSession; orders by final status; the
// order journal's log and snapshot series when `journals` (null: in memory only).
StateReader OrderStateReader(std::shared_ptr<order::OrderHandler::Def> def,
                             std::shared_ptr<order::OrderJournals> journals = nullptr);

}  // namespace percore::server
