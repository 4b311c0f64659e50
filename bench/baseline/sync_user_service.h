#pragma once
// Threading contract: gRPC calls the overrides on its synchronous thread pool, many at once;
// the store does the locking. `store` must outlive the server.
//
// The classic synchronous service: one blocking handler per call. Methods not overridden
// answer UNIMPLEMENTED (the generated defaults).

#include "bench/baseline/user_store.h"
#include "user/v1/user.grpc.pb.h"

namespace percore::baseline {

class SyncUserService final : public user::v1::UserService::Service {
 public:
  explicit SyncUserService(UserStore* store) : store_(store) {}

  grpc::Status CreateUser(grpc::ServerContext* context, const user::v1::CreateUserRequest* request,
                          user::v1::User* response) override;
  grpc::Status GetUser(grpc::ServerContext* context, const user::v1::GetUserRequest* request,
                       user::v1::User* response) override;
  grpc::Status ListUsers(grpc::ServerContext* context, const user::v1::ListUsersRequest* request,
                         grpc::ServerWriter<user::v1::User>* writer) override;

 private:
  UserStore* store_;
};

}  // namespace percore::baseline
