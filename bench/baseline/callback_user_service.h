#pragma once
// Threading contract: gRPC runs the methods and reactor callbacks on threads it picks, many at
// once (only one callback at a time per reactor); the store does the locking. `store` must
// outlive the server.
//
// The callback API: unary methods finish their default ServerUnaryReactor inline; ListUsers
// gets a ServerWriteReactor that writes one user at a time from OnWriteDone, then finishes.
// Methods not overridden answer UNIMPLEMENTED (the generated defaults).

#include "bench/baseline/user_store.h"
#include "user/v1/user.grpc.pb.h"

namespace percore::baseline {

class CallbackUserService final : public user::v1::UserService::CallbackService {
 public:
  explicit CallbackUserService(UserStore* store) : store_(store) {}

  grpc::ServerUnaryReactor* CreateUser(grpc::CallbackServerContext* context,
                                       const user::v1::CreateUserRequest* request,
                                       user::v1::User* response) override;
  grpc::ServerUnaryReactor* GetUser(grpc::CallbackServerContext* context,
                                    const user::v1::GetUserRequest* request,
                                    user::v1::User* response) override;
  grpc::ServerWriteReactor<user::v1::User>* ListUsers(
      grpc::CallbackServerContext* context, const user::v1::ListUsersRequest* request) override;

 private:
  UserStore* store_;
};

}  // namespace percore::baseline
