#include "bench/baseline/ceiling_list_users_call.h"

#include <grpcpp/support/proto_buffer_reader.h>

#include <algorithm>

#include "bench/baseline/user_store.h"
#include "user/v1/user.pb.h"

namespace percore::baseline {

CeilingListUsersCall::CeilingListUsersCall(StreamCeilingUserService* service,
                                           grpc::ServerCompletionQueue* queue,
                                           const grpc::ByteBuffer* reply)
    : service_(service), queue_(queue), reply_(reply) {
  service_->RequestListUsers(&context_, &request_, &writer_, queue_, queue_, this);
}

void CeilingListUsersCall::Start() {
  user::v1::ListUsersRequest request;
  grpc::ProtoBufferReader reader(&request_);
  if (!request.ParseFromZeroCopyStream(&reader)) {
    Finish(grpc::Status(grpc::StatusCode::INTERNAL, "cannot parse the ListUsersRequest"));
    return;
  }
  if (request.page_size() < 0) {
    Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "page_size must not be negative"));
    return;
  }
  left_ = request.page_size() == 0 ? UserStore::kDefaultPageSize
                                   : std::min(request.page_size(), UserStore::kMaxPageSize);
  WriteNext();
}

void CeilingListUsersCall::OnWriteDone(bool ok) {
  if (!ok) {  // the stream is broken (client gone, cancelled, or shutdown)
    Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
    return;
  }
  WriteNext();
}

void CeilingListUsersCall::WriteNext() {
  if (--left_ == 0) {  // the last message and the status in one operation
    Finishing();
    writer_.WriteAndFinish(*reply_, grpc::WriteOptions(), grpc::Status::OK, this);
    return;
  }
  grpc::WriteOptions options;
  // Not on the first write, which carries the initial metadata: chttp2 holds hinted headers
  // back, and the write's completion waits for them, so a stream with nothing else to push the
  // connection's writes stalls. (percore's StreamWriter sends its first message unhinted too.)
  if (!first_write_) options.set_buffer_hint();
  first_write_ = false;
  writer_.Write(*reply_, options, this);
}

void CeilingListUsersCall::Finish(const grpc::Status& status) {
  Finishing();
  writer_.Finish(status, this);
}

}  // namespace percore::baseline
