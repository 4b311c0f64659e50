#include "bench/baseline/callback_user_service.h"

namespace percore::baseline {
namespace {

// Streams one page, one write in flight; frees itself in OnDone, which gRPC calls exactly once
// after Finish and after every callback has returned.
class ListUsersReactor final : public grpc::ServerWriteReactor<user::v1::User> {
 public:
  ListUsersReactor(grpc::CallbackServerContext* context, const user::v1::ListUsersRequest& request,
                   const UserStore& store)
      : context_(context) {
    grpc::Status status = store.List(request, &page_);
    if (!status.ok()) {
      Finish(status);
      return;
    }
    NextWrite();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {  // the stream is broken (client gone or call cancelled)
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return;
    }
    NextWrite();
  }

  void OnDone() override { delete this; }

 private:
  void NextWrite() {
    if (next_ < page_.users.size()) {
      StartWrite(&page_.users[next_++]);
      return;
    }
    if (!page_.next_page_token.empty()) {
      context_->AddTrailingMetadata("next-page-token", page_.next_page_token);
    }
    Finish(grpc::Status::OK);
  }

  grpc::CallbackServerContext* context_;
  UserPage page_;
  size_t next_ = 0;
};

}  // namespace

grpc::ServerUnaryReactor* CallbackUserService::CreateUser(
    grpc::CallbackServerContext* context, const user::v1::CreateUserRequest* request,
    user::v1::User* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(store_->Create(*request, response));
  return reactor;
}

grpc::ServerUnaryReactor* CallbackUserService::GetUser(grpc::CallbackServerContext* context,
                                                       const user::v1::GetUserRequest* request,
                                                       user::v1::User* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(store_->Get(request->id(), response));
  return reactor;
}

grpc::ServerWriteReactor<user::v1::User>* CallbackUserService::ListUsers(
    grpc::CallbackServerContext* context, const user::v1::ListUsersRequest* request) {
  return new ListUsersReactor(context, *request, *store_);
}

}  // namespace percore::baseline
