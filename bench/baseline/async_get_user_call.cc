#include "bench/baseline/async_get_user_call.h"

namespace percore::baseline {

AsyncGetUserCall::AsyncGetUserCall(AsyncUserService* service, grpc::ServerCompletionQueue* queue,
                                   UserStore* store)
    : service_(service), queue_(queue), store_(store) {
  service_->RequestGetUser(&context_, &request_, &responder_, queue_, queue_, this);
}

void AsyncGetUserCall::Proceed(bool ok) {
  switch (state_) {
    case State::kRequested: {
      if (!ok) {  // shutting down: this request was never matched to a call
        delete this;
        return;
      }
      Post(service_, queue_, store_);  // keep the same number of requests posted
      grpc::Status status = store_->Get(request_.id(), &reply_);
      state_ = State::kFinishing;
      if (status.ok()) {
        responder_.Finish(reply_, status, this);
      } else {
        responder_.FinishWithError(status, this);
      }
      return;
    }
    case State::kFinishing:  // sent (ok) or the call died first (!ok): done either way
      delete this;
      return;
  }
}

}  // namespace percore::baseline
