#include "bench/baseline/ceiling_get_user_call.h"

#include <grpcpp/support/slice.h>

#include <string>

#include "user/v1/user.pb.h"

namespace percore::baseline {

grpc::ByteBuffer CeilingGetUserCall::MakeReply() {
  user::v1::User user;
  user.set_id("018f4d3e-7a2b-7c3d-8e4f-5a6b7c8d9e0f");
  user.set_name("Ada Lovelace");
  user.set_email("ada.lovelace@example.com");
  user.add_roles("admin");
  user.mutable_created_at()->set_seconds(1700000000);  // with nanos, as a created user has
  user.mutable_created_at()->set_nanos(123456789);
  *user.mutable_updated_at() = user.created_at();
  std::string bytes = user.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

CeilingGetUserCall::CeilingGetUserCall(CeilingUserService* service,
                                       grpc::ServerCompletionQueue* queue,
                                       const grpc::ByteBuffer* reply)
    : service_(service), queue_(queue), reply_(reply) {
  service_->RequestGetUser(&context_, &request_, &responder_, queue_, queue_, this);
}

}  // namespace percore::baseline
