#include "bench/baseline/sync_user_service.h"

namespace percore::baseline {

grpc::Status SyncUserService::CreateUser(grpc::ServerContext* /*context*/,
                                         const user::v1::CreateUserRequest* request,
                                         user::v1::User* response) {
  return store_->Create(*request, response);
}

grpc::Status SyncUserService::GetUser(grpc::ServerContext* /*context*/,
                                      const user::v1::GetUserRequest* request,
                                      user::v1::User* response) {
  return store_->Get(request->id(), response);
}

grpc::Status SyncUserService::ListUsers(grpc::ServerContext* context,
                                        const user::v1::ListUsersRequest* request,
                                        grpc::ServerWriter<user::v1::User>* writer) {
  UserPage page;
  grpc::Status status = store_->List(*request, &page);
  if (!status.ok()) return status;
  for (const user::v1::User& user : page.users) {
    if (!writer->Write(user)) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
    }
  }
  if (!page.next_page_token.empty()) {
    context->AddTrailingMetadata("next-page-token", page.next_page_token);
  }
  return grpc::Status::OK;
}

}  // namespace percore::baseline
