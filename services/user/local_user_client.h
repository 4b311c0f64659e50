#pragma once
// Threading contract: see services/clients/call_options.h. Stateless apart from the service
// definition, so one object serves every shard.
//
// UserService as another service in this process sees it: a hop to the user's owning shard and
// back, the User passed as an object (no serialization, no network).

#include <memory>

#include "services/clients/user_client.h"
#include "services/user/user_handler.h"

namespace percore::user {

class LocalUserClient final : public clients::UserClient {
 public:
  explicit LocalUserClient(std::shared_ptr<UserHandler::Def> def) : def_(std::move(def)) {}
  void GetUser(v1::GetUserRequest request, const clients::CallOptions& options,
               clients::Done<v1::User> done) override;

 private:
  std::shared_ptr<UserHandler::Def> def_;
};

}  // namespace percore::user
