#include "services/order/chat_agent.h"

#include <cctype>

namespace percore::order {
namespace {

std::string_view Trim(std::string_view text) {
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string StatusWord(::order::v1::OrderStatus status) {
  switch (status) {
    case ::order::v1::ORDER_STATUS_PENDING:
      return "pending: we are checking your order";
    case ::order::v1::ORDER_STATUS_RESERVED:
      return "reserved: the items are set aside while the payment goes through";
    case ::order::v1::ORDER_STATUS_PAID:
      return "paid: we are finalizing it";
    case ::order::v1::ORDER_STATUS_CONFIRMED:
      return "confirmed";
    case ::order::v1::ORDER_STATUS_FAILED:
      return "failed";
    case ::order::v1::ORDER_STATUS_CANCELLED:
      return "cancelled";
    default:
      return "in an unknown state";
  }
}

}  // namespace

ChatIntent UnderstandChat(std::string_view text) {
  ChatIntent intent;
  std::string_view trimmed = Trim(text);
  size_t space = trimmed.find_first_of(" \t\r\n");
  std::string command = Lower(trimmed.substr(0, space));
  std::string_view rest = space == std::string_view::npos ? "" : Trim(trimmed.substr(space));
  if ((command == "help" || command == "?") && rest.empty()) {
    intent.kind = ChatIntent::kHelp;
  } else if (command == "status") {
    intent.argument = std::string(rest);
    if (rest.empty()) {
      intent.kind = ChatIntent::kStatusMissingId;
    } else if (std::optional<Uuid> id = Uuid::Parse(rest)) {
      intent.kind = ChatIntent::kStatus;
      intent.order_id = *id;
    } else {
      intent.kind = ChatIntent::kStatusBadId;
    }
  }
  return intent;
}

std::string ChatHelpText() {
  return "I can help with: \"status <order id>\" tells you where an order stands; \"help\" "
         "shows this list.";
}

std::string ChatDefaultText() {
  return "Sorry, I did not understand that. Type \"help\" to see what I can do.";
}

std::string ChatStatusMissingIdText() {
  return "Which order? Please write \"status\" followed by the order id.";
}

std::string ChatStatusBadIdText(std::string_view argument) {
  std::string shown(argument.substr(0, 64));
  return "Sorry, \"" + shown + (argument.size() > shown.size() ? "..." : "") +
         "\" is not an order id. Order ids look like 0190f1a2-3b4c-7d5e-8f60-718293a4b5c6.";
}

std::string ChatOrderNotFoundText(std::string_view order_id) {
  return "Sorry, I could not find order " + std::string(order_id) + ".";
}

std::string ChatOrderStatusText(const ::order::v1::Order& order) {
  std::string text = "Order " + order.id() + " is " + StatusWord(order.status());
  if (order.status() == ::order::v1::ORDER_STATUS_FAILED && !order.failure_reason().empty()) {
    text += " (" + order.failure_reason() + ")";
  }
  return text + ".";
}

}  // namespace percore::order
