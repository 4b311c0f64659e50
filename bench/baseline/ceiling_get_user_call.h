#pragma once
// Threading contract: AsyncCall's (only the thread polling `queue`). `reply` never changes and
// must outlive the server; give each queue its own (MakeReply per queue), so queue threads do not
// contend on one slice's reference count.
//
// Ceiling mode's GetUser: the method is raw, the request bytes are not even parsed, and every
// call answers the same User, serialized once at start-up. Sending a grpc::ByteBuffer only takes
// references to its slices, so a call costs what the gRPC library costs: accept, read, send.

#include <grpcpp/server_context.h>
#include <grpcpp/support/async_unary_call.h>
#include <grpcpp/support/byte_buffer.h>

#include "bench/baseline/async_call.h"
#include "bench/baseline/async_user_service.h"

namespace percore::baseline {

class CeilingGetUserCall final : public PostedCall<CeilingGetUserCall> {
 public:
  // The one User every call answers (shaped like a seeded user: one role, timestamps),
  // serialized.
  static grpc::ByteBuffer MakeReply();

  // Asks gRPC for the next GetUser call on `queue`; the call frees itself.
  static void Post(CeilingUserService* service, grpc::ServerCompletionQueue* queue,
                   const grpc::ByteBuffer* reply) {
    new CeilingGetUserCall(service, queue, reply);
  }

 private:
  friend class PostedCall<CeilingGetUserCall>;

  CeilingGetUserCall(CeilingUserService* service, grpc::ServerCompletionQueue* queue,
                     const grpc::ByteBuffer* reply);

  void PostNext() { Post(service_, queue_, reply_); }
  void Start() {
    Finishing();
    responder_.Finish(*reply_, grpc::Status::OK, this);
  }

  CeilingUserService* service_;
  grpc::ServerCompletionQueue* queue_;
  const grpc::ByteBuffer* reply_;
  grpc::ServerContext context_;
  grpc::ByteBuffer request_;
  grpc::ServerAsyncResponseWriter<grpc::ByteBuffer> responder_{&context_};
};

}  // namespace percore::baseline
