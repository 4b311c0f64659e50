#pragma once
// Threading contract: AsyncCall's (only the thread polling `queue`).
//
// CreateUser as a CallData state machine: requested -> finishing -> freed.

#include <grpcpp/server_context.h>
#include <grpcpp/support/async_unary_call.h>

#include "bench/baseline/async_call.h"
#include "bench/baseline/async_user_service.h"
#include "bench/baseline/user_store.h"

namespace percore::baseline {

class AsyncCreateUserCall final : public AsyncCall {
 public:
  // Asks gRPC for the next CreateUser call on `queue`; the call frees itself.
  static void Post(AsyncUserService* service, grpc::ServerCompletionQueue* queue,
                   UserStore* store) {
    new AsyncCreateUserCall(service, queue, store);
  }

  void Proceed(bool ok) override;

 private:
  enum class State { kRequested, kFinishing };

  AsyncCreateUserCall(AsyncUserService* service, grpc::ServerCompletionQueue* queue,
                      UserStore* store);

  AsyncUserService* service_;
  grpc::ServerCompletionQueue* queue_;
  UserStore* store_;
  State state_ = State::kRequested;
  grpc::ServerContext context_;
  user::v1::CreateUserRequest request_;
  user::v1::User reply_;
  grpc::ServerAsyncResponseWriter<user::v1::User> responder_{&context_};
};

}  // namespace percore::baseline
