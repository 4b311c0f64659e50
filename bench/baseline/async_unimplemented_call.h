#pragma once
// Threading contract: AsyncCall's (only the thread polling `queue`).
//
// Answers UNIMPLEMENTED to any call that reaches the async generic service: the user.v1
// methods async and ceiling mode do not serve (marked generic in AsyncUserService) and methods
// no service has. Without it, a method marked async that nobody requests would hang until the
// client's deadline, and gRPC refuses to start with generic methods but no generic service.

#include <grpcpp/generic/async_generic_service.h>

#include "bench/baseline/async_call.h"

namespace percore::baseline {

class AsyncUnimplementedCall final : public PostedCall<AsyncUnimplementedCall> {
 public:
  // Asks gRPC for the next unserved call on `queue`; the call frees itself.
  static void Post(grpc::AsyncGenericService* service, grpc::ServerCompletionQueue* queue) {
    new AsyncUnimplementedCall(service, queue);
  }

 private:
  friend class PostedCall<AsyncUnimplementedCall>;

  AsyncUnimplementedCall(grpc::AsyncGenericService* service, grpc::ServerCompletionQueue* queue);

  void PostNext() { Post(service_, queue_); }
  void Start();

  grpc::AsyncGenericService* service_;
  grpc::ServerCompletionQueue* queue_;
  grpc::GenericServerContext context_;
  grpc::GenericServerAsyncReaderWriter stream_{&context_};
};

}  // namespace percore::baseline
