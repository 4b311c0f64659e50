#include "bench/baseline/async_list_users_call.h"

namespace percore::baseline {

AsyncListUsersCall::AsyncListUsersCall(AsyncUserService* service,
                                       grpc::ServerCompletionQueue* queue, UserStore* store)
    : service_(service), queue_(queue), store_(store) {
  service_->RequestListUsers(&context_, &request_, &writer_, queue_, queue_, this);
}

void AsyncListUsersCall::Proceed(bool ok) {
  switch (state_) {
    case State::kRequested: {
      if (!ok) {  // shutting down: this request was never matched to a call
        delete this;
        return;
      }
      Post(service_, queue_, store_);  // keep the same number of requests posted
      grpc::Status status = store_->List(request_, &page_);
      if (!status.ok()) {
        Finish(status);
        return;
      }
      state_ = State::kWriting;
      WriteNextOrFinish();
      return;
    }
    case State::kWriting:
      if (!ok) {  // the stream is broken (client gone, cancelled, or shutdown)
        Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
        return;
      }
      WriteNextOrFinish();
      return;
    case State::kFinishing:  // sent (ok) or the call died first (!ok): done either way
      delete this;
      return;
  }
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
  state_ = State::kFinishing;
  writer_.Finish(status, this);
}

}  // namespace percore::baseline
