#include "services/cluster/route_keys.h"

#include <optional>
#include <string>

#include "core/base/uuid.h"
#include "inventory/v1/inventory.pb.h"
#include "order/v1/order.pb.h"
#include "payment/v1/payment.pb.h"
#include "services/user/user_validation.h"
#include "user/v1/user.pb.h"

namespace percore::cluster {
namespace {

// The key of a user id field: the id's 16 bytes, as UserService places the row
// (ShardFor(id.view())); nullopt when it is no UUID (the handler then names the field).
std::optional<std::string> UserIdKey(const std::string& text) {
  std::optional<Uuid> id = Uuid::Parse(text);
  if (!id) return std::nullopt;
  return std::string(id->view());
}

template <class Request>
KeyOf ByUserId() {
  return [](const google::protobuf::Message& message) {
    return UserIdKey(static_cast<const Request&>(message).id());
  };
}

// A key used as it is (a SKU, an idempotency key, a drawn id's text); none when empty (the
// handler names the field).
std::optional<std::string> TextKey(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return text;
}

template <class Request, const std::string& (Request::*field)() const>
KeyOf ByText() {
  return [](const google::protobuf::Message& message) {
    return TextKey((static_cast<const Request&>(message).*field)());
  };
}

template <class Request, const std::string& (Request::*field)() const>
KeyOf ByUuid() {
  return [](const google::protobuf::Message& message) {
    return UserIdKey((static_cast<const Request&>(message).*field)());
  };
}

void AddInventoryRoutes(RouteTable& routes) {
  namespace inv = ::inventory::v1;
  const std::string inventory = "/inventory.v1.InventoryService/";
  routes.Add(inventory + "CreateProduct",
             ByText<inv::CreateProductRequest, &inv::CreateProductRequest::sku>(),
             KeyKind::kCommerce);
  routes.Add(inventory + "GetProduct",
             ByText<inv::GetProductRequest, &inv::GetProductRequest::sku>(), KeyKind::kCommerce);
  routes.Add(inventory + "AdjustStock",
             ByText<inv::AdjustStockRequest, &inv::AdjustStockRequest::sku>(), KeyKind::kCommerce);
  // One partition's lines (a spanning reservation is held by the member asked:
  // cluster_inventory_client.h): any line's SKU names the partition.
  routes.Add(
      inventory + "ReserveStock",
      [](const google::protobuf::Message& message) -> std::optional<std::string> {
        const auto& request = static_cast<const inv::ReserveStockRequest&>(message);
        if (request.lines_size() == 0) return std::nullopt;
        return TextKey(request.lines(0).sku());
      },
      KeyKind::kCommerce);
  // A plain id (drawn on its partition); a spanning one is split by the member asked.
  routes.Add(
      inventory + "CommitReservation",
      ByText<inv::CommitReservationRequest, &inv::CommitReservationRequest::reservation_id>(),
      KeyKind::kCommerce);
  routes.Add(
      inventory + "ReleaseReservation",
      ByText<inv::ReleaseReservationRequest, &inv::ReleaseReservationRequest::reservation_id>(),
      KeyKind::kCommerce);
  routes.Add(
      inventory + "ReturnReservation",
      ByText<inv::ReturnReservationRequest, &inv::ReturnReservationRequest::reservation_id>(),
      KeyKind::kCommerce);
}

void AddPaymentRoutes(RouteTable& routes) {
  namespace pay = ::payment::v1;
  const std::string payment = "/payment.v1.PaymentService/";
  routes.Add(payment + "ProcessPayment",
             ByText<pay::ProcessPaymentRequest, &pay::ProcessPaymentRequest::idempotency_key>(),
             KeyKind::kCommerce);
  routes.Add(payment + "VoidPayment",
             ByText<pay::VoidPaymentRequest, &pay::VoidPaymentRequest::idempotency_key>(),
             KeyKind::kCommerce);
  routes.Add(payment + "RefundPayment",
             ByText<pay::RefundPaymentRequest, &pay::RefundPaymentRequest::transaction_id>(),
             KeyKind::kCommerce);
  // By the transaction id when given (it names its partition), else by the idempotency key.
  routes.Add(
      payment + "GetPayment",
      [](const google::protobuf::Message& message) -> std::optional<std::string> {
        const auto& request = static_cast<const pay::GetPaymentRequest&>(message);
        if (!request.transaction_id().empty()) return request.transaction_id();
        return TextKey(request.idempotency_key());
      },
      KeyKind::kCommerce);
}

void AddOrderRoutes(RouteTable& routes) {
  namespace ord = ::order::v1;
  const std::string order = "/order.v1.OrderService/";
  // A user's orders live in the user's partition (and on the user's shard there).
  routes.Add(order + "CreateOrder",
             ByUuid<ord::CreateOrderRequest, &ord::CreateOrderRequest::user_id>(), KeyKind::kId);
  // An order id is drawn on its order's partition.
  routes.Add(order + "GetOrder", ByUuid<ord::GetOrderRequest, &ord::GetOrderRequest::id>(),
             KeyKind::kId);
  routes.Add(order + "CancelOrder", ByUuid<ord::CancelOrderRequest, &ord::CancelOrderRequest::id>(),
             KeyKind::kId);
}

}  // namespace

RouteTable PercoreRoutes() {
  RouteTable routes;
  const std::string user = "/user.v1.UserService/";
  routes.Add(user + "GetUser", ByUserId<::user::v1::GetUserRequest>(), KeyKind::kId);
  routes.Add(user + "UpdateUser", ByUserId<::user::v1::UpdateUserRequest>(), KeyKind::kId);
  routes.Add(user + "DeleteUser", ByUserId<::user::v1::DeleteUserRequest>(), KeyKind::kId);
  routes.Add(user + "CreateUser",
             [](const google::protobuf::Message& message) -> std::optional<std::string> {
               const auto& request = static_cast<const ::user::v1::CreateUserRequest&>(message);
               std::string email;
               if (!user::ValidateEmail(request.email(), &email).ok()) return std::nullopt;
               return user::EmailKey(email);
             });
  AddInventoryRoutes(routes);
  AddPaymentRoutes(routes);
  AddOrderRoutes(routes);
  return routes;
}

}  // namespace percore::cluster
