#include "services/cluster/growth_freeze.h"

#include <atomic>

#include "user/v1/user.pb.h"

namespace percore::cluster {
namespace {

std::atomic<bool> frozen{false};

// Whether an UpdateUser may change the email (it names one, or its mask does).
bool TouchesEmail(const ::user::v1::UpdateUserRequest& update) {
  if (update.has_email()) return true;
  for (const std::string& path : update.update_mask().paths()) {
    if (path == "email") return true;
  }
  return false;
}

}  // namespace

bool GrowthFrozen() { return frozen.load(std::memory_order_relaxed); }

void SetGrowthFrozen(bool value) { frozen.store(value, std::memory_order_seq_cst); }

std::optional<Status> RefusedWhileGrowing(std::string_view path,
                                          const google::protobuf::Message& request) {
  if (!GrowthFrozen()) return std::nullopt;
  bool draws = path == "/user.v1.UserService/CreateUser" ||
               path == "/user.v1.UserService/DeleteUser" ||
               path == "/order.v1.OrderService/CreateOrder";
  if (path == "/user.v1.UserService/UpdateUser") {
    draws = TouchesEmail(static_cast<const ::user::v1::UpdateUserRequest&>(request));
  }
  if (!draws) return std::nullopt;
  return Status(StatusCode::kUnavailable, "the cluster is growing; retry");
}

}  // namespace percore::cluster
