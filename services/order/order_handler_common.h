#pragma once
// Threading contract: free functions used on the shard a handler runs on (inside a call, hop or
// task); nothing here keeps state.
//
// What order_handler.cc and order_handler_streams.cc both need: the local handler and the
// statuses they answer with.

#include <string>

#include "core/base/status.h"
#include "core/runtime/shard.h"
#include "services/order/order_handler.h"

namespace percore::order {

// The handler of the shard this code runs on (inside a hop or task).
inline OrderHandler& Here(OrderHandler::Def* def) { return def->local(*runtime::Shard::Current()); }

// A caller asking for an order that is not theirs (Access::kOwner).
inline Status NotTheirs(const char* method) {
  return Status(StatusCode::kPermissionDenied,
                std::string("permission denied for order.v1.OrderService/") + method);
}

inline Status OrderNotFound(const Uuid& id) {
  return Status(StatusCode::kNotFound, "order " + id.ToString() + " not found");
}

}  // namespace percore::order
