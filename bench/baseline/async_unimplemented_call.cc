#include "bench/baseline/async_unimplemented_call.h"

namespace percore::baseline {

AsyncUnimplementedCall::AsyncUnimplementedCall(grpc::AsyncGenericService* service,
                                               grpc::ServerCompletionQueue* queue)
    : service_(service), queue_(queue) {
  service_->RequestCall(&context_, &stream_, queue_, queue_, this);
}

void AsyncUnimplementedCall::Start() {
  Finishing();
  stream_.Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                              "percore-baseline does not serve " + context_.method()),
                 this);
}

}  // namespace percore::baseline
