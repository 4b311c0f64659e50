#pragma once
// Threading contract: AsyncCall's (only the thread polling `queue`).
//
// CreateUser and GetUser as one CallData state machine: requested -> finishing -> freed
// (PostedCall). The two differ only in what their Method says: the request type, which
// generated Request* method asks gRPC for the next call, and how the store answers it. The
// template is instantiated per method, so each call is the code a hand-written CallData is.

#include <grpcpp/server_context.h>
#include <grpcpp/support/async_unary_call.h>

#include "bench/baseline/async_call.h"
#include "bench/baseline/async_user_service.h"
#include "bench/baseline/user_store.h"

namespace percore::baseline {

template <class Method>
class AsyncUnaryCall final : public PostedCall<AsyncUnaryCall<Method>> {
 public:
  // Asks gRPC for the next call of the method on `queue`; the call frees itself.
  static void Post(AsyncUserService* service, grpc::ServerCompletionQueue* queue,
                   UserStore* store) {
    new AsyncUnaryCall(service, queue, store);
  }

 private:
  friend class PostedCall<AsyncUnaryCall>;

  AsyncUnaryCall(AsyncUserService* service, grpc::ServerCompletionQueue* queue, UserStore* store)
      : service_(service), queue_(queue), store_(store) {
    (service_->*Method::kRequestCall)(&context_, &request_, &responder_, queue_, queue_, this);
  }

  void PostNext() { Post(service_, queue_, store_); }

  void Start() {
    grpc::Status status = Method::Answer(*store_, request_, &reply_);
    this->Finishing();
    if (status.ok()) {
      responder_.Finish(reply_, status, this);
    } else {
      responder_.FinishWithError(status, this);
    }
  }

  AsyncUserService* service_;
  grpc::ServerCompletionQueue* queue_;
  UserStore* store_;
  grpc::ServerContext context_;
  typename Method::Request request_;
  user::v1::User reply_;
  grpc::ServerAsyncResponseWriter<user::v1::User> responder_{&context_};
};

struct CreateUserMethod {
  using Request = user::v1::CreateUserRequest;
  static constexpr auto kRequestCall = &AsyncUserService::RequestCreateUser;
  static grpc::Status Answer(UserStore& store, const Request& request, user::v1::User* reply) {
    return store.Create(request, reply);
  }
};
using AsyncCreateUserCall = AsyncUnaryCall<CreateUserMethod>;

struct GetUserMethod {
  using Request = user::v1::GetUserRequest;
  static constexpr auto kRequestCall = &AsyncUserService::RequestGetUser;
  static grpc::Status Answer(UserStore& store, const Request& request, user::v1::User* reply) {
    return store.Get(request.id(), reply);
  }
};
using AsyncGetUserCall = AsyncUnaryCall<GetUserMethod>;

}  // namespace percore::baseline
