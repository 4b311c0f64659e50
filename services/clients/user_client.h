#pragma once
// Threading contract: see call_options.h. One object serves every shard (no per-call state is
// shared between shards).
//
// What other services ask of user.v1.UserService.

#include <utility>

#include "core/base/uuid.h"
#include "services/clients/call_options.h"
#include "user/v1/user.pb.h"

namespace percore::clients {

// CheckUser's answer: the user exists (the status says so; nothing else is carried).
struct UserChecked {};

class UserClient {
 public:
  virtual ~UserClient() = default;
  // NOT_FOUND if there is no such user; INVALID_ARGUMENT for a malformed id.
  virtual void GetUser(::user::v1::GetUserRequest request, const CallOptions& options,
                       Done<::user::v1::User> done) = 0;
  // Whether user `id` exists: OK, or what GetUser answers for it (NOT_FOUND, a failed call).
  // By default a GetUser whose user is dropped; the service in this process overrides it to
  // answer without building the user (the order saga checks its user once per order).
  virtual void CheckUser(const Uuid& id, const CallOptions& options, Done<UserChecked> done) {
    ::user::v1::GetUserRequest request;
    request.set_id(id.ToString());
    GetUser(std::move(request), options,
            [done = std::move(done)](const Status& status, ::user::v1::User&&) {
              done(status, UserChecked{});
            });
  }
};

}  // namespace percore::clients
