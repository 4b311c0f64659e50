#include "services/server/access_table.h"

#include <string>

namespace percore::server {
namespace {

struct Row {
  const char* path;
  rpc::Access access;
  const char* field = "";
  bool service_too = false;
};

using rpc::Access;

constexpr Row kRows[] = {
    {"/grpc.health.v1.Health/Check", Access::kOpen},
    {"/grpc.health.v1.Health/Watch", Access::kOpen},
    {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", Access::kOpen},
    {"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", Access::kOpen},

    {"/user.v1.UserService/CreateUser", Access::kAuthenticated},
    {"/user.v1.UserService/GetUser", Access::kSelf, "id", true},  // OrderService checks buyers
    {"/user.v1.UserService/UpdateUser", Access::kSelf, "id"},
    {"/user.v1.UserService/DeleteUser", Access::kSelf, "id"},
    {"/user.v1.UserService/ListUsers", Access::kAdmin},
    {"/user.v1.UserService/WatchUserUpdates", Access::kSelf, "user_id"},  // empty: all → admin

    {"/inventory.v1.InventoryService/CreateProduct", Access::kAdmin},
    {"/inventory.v1.InventoryService/GetProduct", Access::kAuthenticated},
    {"/inventory.v1.InventoryService/ListProducts", Access::kAuthenticated},
    {"/inventory.v1.InventoryService/AdjustStock", Access::kAdmin},
    {"/inventory.v1.InventoryService/ReserveStock", Access::kService},
    {"/inventory.v1.InventoryService/CommitReservation", Access::kService},
    {"/inventory.v1.InventoryService/ReleaseReservation", Access::kService},
    {"/inventory.v1.InventoryService/ReturnReservation", Access::kService},

    {"/payment.v1.PaymentService/ProcessPayment", Access::kService},
    {"/payment.v1.PaymentService/RefundPayment", Access::kService},
    {"/payment.v1.PaymentService/GetPayment", Access::kService},
    {"/payment.v1.PaymentService/VoidPayment", Access::kService},

    {"/order.v1.OrderService/CreateOrder", Access::kSelf, "user_id"},
    {"/order.v1.OrderService/GetOrder", Access::kOwner},
    {"/order.v1.OrderService/ListOrders", Access::kSelf, "user_id"},
    {"/order.v1.OrderService/CancelOrder", Access::kOwner},
    {"/order.v1.OrderService/WatchOrderUpdates", Access::kOwner},
    {"/order.v1.OrderService/ChatSession", Access::kAuthenticated},

    // A member's side of growing a cluster (tools/cluster grow): member calls.
    {"/cluster.v1.ClusterAdmin/Freeze", Access::kService},
    {"/cluster.v1.ClusterAdmin/Unfreeze", Access::kService},
    {"/cluster.v1.ClusterAdmin/PullPartition", Access::kService},
    {"/cluster.v1.ClusterAdmin/AdoptClaims", Access::kService},
    {"/cluster.v1.ClusterAdmin/Switch", Access::kService},
    {"/cluster.v1.ClusterAdmin/State", Access::kService},

    // The interop test service (grpc.testing): conformance tests, any authenticated caller.
    {"/grpc.testing.TestService/EmptyCall", Access::kAuthenticated},
    {"/grpc.testing.TestService/UnaryCall", Access::kAuthenticated},
    {"/grpc.testing.TestService/CacheableUnaryCall", Access::kAuthenticated},
    {"/grpc.testing.TestService/StreamingOutputCall", Access::kAuthenticated},
    {"/grpc.testing.TestService/StreamingInputCall", Access::kAuthenticated},
    {"/grpc.testing.TestService/FullDuplexCall", Access::kAuthenticated},
    {"/grpc.testing.TestService/HalfDuplexCall", Access::kAuthenticated},
    {"/grpc.testing.TestService/UnimplementedCall", Access::kAuthenticated},
};

}  // namespace

rpc::AccessPolicy PercoreAccessPolicy() {
  rpc::AccessPolicy policy;
  for (const Row& row : kRows) {
    policy.Set(
        row.path,
        rpc::AccessRule{.access = row.access, .field = row.field, .service_too = row.service_too});
  }
  return policy;
}

}  // namespace percore::server
