#include "services/remote/remote_user_client.h"

namespace percore::remote {

PeerOptions RemoteUserClient::Options(std::vector<std::string> addresses) {
  PeerOptions options;
  options.service = "user.v1.UserService";
  options.addresses = std::move(addresses);
  options.retryable_methods = {"GetUser"};
  return options;
}

void RemoteUserClient::GetUser(::user::v1::GetUserRequest request,
                               const clients::CallOptions& options,
                               clients::Done<::user::v1::User> done) {
  stubs_.Call<::user::v1::User>(kGetUser, options, std::move(done),
                                [&](auto& stub, auto* context, auto* cq) {
                                  return stub.PrepareAsyncGetUser(context, request, cq);
                                });
}

}  // namespace percore::remote
