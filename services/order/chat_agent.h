#pragma once
// Threading contract: pure functions; any thread.
//
// The support chat's rules: what a message asks for, and the words of each answer. Knows
// nothing of streams or shards (chat_session.h drives the conversation).
//   "help" (or "?")         -> what the agent understands
//   "status <order id>"     -> the order's status, looked up in the order store
//   anything else           -> a polite default pointing at "help"
// Commands are case-insensitive and surrounding white space is ignored.

#include <optional>
#include <string>
#include <string_view>

#include "order/v1/order.pb.h"
#include "services/order/order_id.h"

namespace percore::order {

struct ChatIntent {
  enum Kind {
    kHelp,
    kStatus,           // order_id is set
    kStatusBadId,      // "status" with something that is not an order id
    kStatusMissingId,  // "status" alone
    kOther,
  };
  Kind kind = kOther;
  Uuid order_id;
  std::string argument;  // what followed "status", as typed
};

ChatIntent UnderstandChat(std::string_view text);

std::string ChatHelpText();
std::string ChatDefaultText();
std::string ChatStatusMissingIdText();
std::string ChatStatusBadIdText(std::string_view argument);
std::string ChatOrderNotFoundText(std::string_view order_id);
std::string ChatOrderStatusText(const ::order::v1::Order& order);

}  // namespace percore::order
