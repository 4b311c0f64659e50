#include "services/cluster/route_keys.h"

#include <optional>
#include <string>

#include "core/base/uuid.h"
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

}  // namespace

RouteTable PercoreRoutes() {
  RouteTable routes;
  const std::string user = "/user.v1.UserService/";
  routes.Add(user + "GetUser", ByUserId<::user::v1::GetUserRequest>());
  routes.Add(user + "UpdateUser", ByUserId<::user::v1::UpdateUserRequest>());
  routes.Add(user + "DeleteUser", ByUserId<::user::v1::DeleteUserRequest>());
  routes.Add(user + "CreateUser",
             [](const google::protobuf::Message& message) -> std::optional<std::string> {
               const auto& request = static_cast<const ::user::v1::CreateUserRequest&>(message);
               std::string email;
               if (!user::ValidateEmail(request.email(), &email).ok()) return std::nullopt;
               return user::EmailKey(email);
             });
  return routes;
}

}  // namespace percore::cluster
