#include "bench/baseline/async_list_users_call.h"

namespace percore::baseline {

AsyncListUsersCall::AsyncListUsersCall(AsyncUserService* service,
                                       grpc::ServerCompletionQueue* queue, UserStore* store)
    : service_(service), queue_(queue), store_(store) {
  service_->RequestListUsers(&context_, &request_, &writer_, queue_, queue_, this);
}

void AsyncListUsersCall::Start() {
  grpc::Status status = store_->List(request_, &page_);
  if (!status.ok()) {
    Finish(status);
    return;
  }
  WriteNextOrFinish();
}

void AsyncListUsersCall::OnWriteDone(bool ok) {
  if (!ok) {  // the stream is broken (client gone, cancelled, or shutdown)
    Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
    return;
  }
  WriteNextOrFinish();
}

void AsyncListUsersCall::WriteNextOrFinish() {
  if (next_ < page_.users.size()) {
    writer_.Write(page_.users[next_++], this);
    return;
  }
  if (!page_.next_page_token.empty()) {
    context_.AddTrailingMetadata("next-page-token", page_.next_page_token);
  }
  Finish(grpc::Status::OK);
}

void AsyncListUsersCall::Finish(const grpc::Status& status) {
  Finishing();
  writer_.Finish(status, this);
}

}  // namespace percore::baseline
