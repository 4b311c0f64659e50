#pragma once
// Threading contract: see services/clients/call_options.h; calls on the shards of one Runtime.
// Built before the runtime starts, destroyed after it stopped.
//
// UserService in other processes (--peer user=HOST:PORT,...), over gRPC: round_robin across the
// replicas, the caller's deadline propagated, GetUser retried on UNAVAILABLE (a read).

#include <memory>
#include <string>
#include <vector>

#include "services/clients/user_client.h"
#include "services/remote/peer_stubs.h"
#include "services/remote/remote_peer.h"
#include "user/v1/user.grpc.pb.h"

namespace percore::remote {

class RemoteUserClient final : public clients::UserClient {
 public:
  // The options RemotePeer::Create needs for UserService at `addresses`.
  static PeerOptions Options(std::vector<std::string> addresses);

  explicit RemoteUserClient(std::shared_ptr<RemotePeer> peer)
      : stubs_(std::move(peer), {"GetUser"}) {}

  void GetUser(::user::v1::GetUserRequest request, const clients::CallOptions& options,
               clients::Done<::user::v1::User> done) override;

  RemotePeer& peer() { return stubs_.peer(); }

 private:
  enum Method : size_t { kGetUser };  // indexes the names given to stubs_
  PeerStubs<::user::v1::UserService> stubs_;
};

}  // namespace percore::remote
