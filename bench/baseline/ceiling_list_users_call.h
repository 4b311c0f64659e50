#pragma once
// Threading contract: AsyncCall's (only the thread polling `queue`). `reply` never changes and
// must outlive the server; one per queue, as for CeilingGetUserCall.
//
// Stream-ceiling mode's ListUsers: the method is raw and every message of the stream is the same
// User, serialized once at start-up (CeilingGetUserCall::MakeReply), written back to back: no
// store, no copy, no serialization per message. The writes have percore's StreamWriter's shape:
// the first goes out at once (with the initial metadata), those between carry the buffer hint
// (more follow at once: gRPC may coalesce them into fewer frames and flushes), and the last goes
// out with the status as one WriteAndFinish. So a message
// costs what libgrpc's server stream itself costs. Only page_size is read from the request, with
// the store's rules (0: 100; capped at 1000; negative: INVALID_ARGUMENT); no page token is
// returned.

#include <grpcpp/server_context.h>
#include <grpcpp/support/async_stream.h>
#include <grpcpp/support/byte_buffer.h>

#include "bench/baseline/async_call.h"
#include "bench/baseline/async_user_service.h"

namespace percore::baseline {

class CeilingListUsersCall final : public PostedCall<CeilingListUsersCall> {
 public:
  // Asks gRPC for the next ListUsers call on `queue`; the call frees itself.
  static void Post(StreamCeilingUserService* service, grpc::ServerCompletionQueue* queue,
                   const grpc::ByteBuffer* reply) {
    new CeilingListUsersCall(service, queue, reply);
  }

 private:
  friend class PostedCall<CeilingListUsersCall>;

  CeilingListUsersCall(StreamCeilingUserService* service, grpc::ServerCompletionQueue* queue,
                       const grpc::ByteBuffer* reply);

  void PostNext() { Post(service_, queue_, reply_); }
  void Start();
  void OnWriteDone(bool ok);
  // Writes the next copy of the reply; the last one together with the status.
  void WriteNext();
  void Finish(const grpc::Status& status);

  StreamCeilingUserService* service_;
  grpc::ServerCompletionQueue* queue_;
  const grpc::ByteBuffer* reply_;
  grpc::ServerContext context_;
  grpc::ByteBuffer request_;
  grpc::ServerAsyncWriter<grpc::ByteBuffer> writer_{&context_};
  int left_ = 0;  // messages still to write
  bool first_write_ = true;
};

}  // namespace percore::baseline
