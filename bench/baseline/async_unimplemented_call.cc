#include "bench/baseline/async_unimplemented_call.h"

namespace percore::baseline {

AsyncUnimplementedCall::AsyncUnimplementedCall(grpc::AsyncGenericService* service,
                                               grpc::ServerCompletionQueue* queue)
    : service_(service), queue_(queue) {
  service_->RequestCall(&context_, &stream_, queue_, queue_, this);
}

void AsyncUnimplementedCall::Proceed(bool ok) {
  switch (state_) {
    case State::kRequested:
      if (!ok) {  // shutting down: this request was never matched to a call
        delete this;
        return;
      }
      Post(service_, queue_);  // keep the same number of requests posted
      state_ = State::kFinishing;
      stream_.Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                  "percore-baseline does not serve " + context_.method()),
                     this);
      return;
    case State::kFinishing:  // sent (ok) or the call died first (!ok): done either way
      delete this;
      return;
  }
}

}  // namespace percore::baseline
