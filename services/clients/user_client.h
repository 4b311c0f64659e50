#pragma once
// Threading contract: see call_options.h. One object serves every shard (no per-call state is
// shared between shards).
//
// What other services ask of user.v1.UserService.

#include "services/clients/call_options.h"
#include "user/v1/user.pb.h"

namespace percore::clients {

class UserClient {
 public:
  virtual ~UserClient() = default;
  // NOT_FOUND if there is no such user; INVALID_ARGUMENT for a malformed id.
  virtual void GetUser(::user::v1::GetUserRequest request, const CallOptions& options,
                       Done<::user::v1::User> done) = 0;
};

}  // namespace percore::clients
