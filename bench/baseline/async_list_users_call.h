#pragma once
// Threading contract: AsyncCall's (only the thread polling `queue`).
//
// ListUsers as a CallData state machine over a ServerAsyncWriter with one write in flight
// (gRPC allows no second one, and Finish counts as a write):
// requested -> writing (once per user) -> finishing -> freed. A failed write means the stream is
// gone; the call still finishes (CANCELLED) so gRPC releases it the usual way.

#include <grpcpp/server_context.h>
#include <grpcpp/support/async_stream.h>

#include "bench/baseline/async_call.h"
#include "bench/baseline/async_user_service.h"
#include "bench/baseline/user_store.h"

namespace percore::baseline {

class AsyncListUsersCall final : public PostedCall<AsyncListUsersCall> {
 public:
  // Asks gRPC for the next ListUsers call on `queue`; the call frees itself.
  static void Post(AsyncUserService* service, grpc::ServerCompletionQueue* queue,
                   UserStore* store) {
    new AsyncListUsersCall(service, queue, store);
  }

 private:
  friend class PostedCall<AsyncListUsersCall>;

  AsyncListUsersCall(AsyncUserService* service, grpc::ServerCompletionQueue* queue,
                     UserStore* store);

  void PostNext() { Post(service_, queue_, store_); }
  void Start();
  void OnWriteDone(bool ok);
  // Writes the next user, or finishes with the page token once all are written.
  void WriteNextOrFinish();
  void Finish(const grpc::Status& status);

  AsyncUserService* service_;
  grpc::ServerCompletionQueue* queue_;
  UserStore* store_;
  grpc::ServerContext context_;
  user::v1::ListUsersRequest request_;
  grpc::ServerAsyncWriter<user::v1::User> writer_{&context_};
  UserPage page_;
  size_t next_ = 0;
};

}  // namespace percore::baseline
