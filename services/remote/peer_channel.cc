#include "services/remote/peer_channel.h"

#include <grpcpp/create_channel.h>

#include "services/remote/peer_target.h"

namespace percore::remote {

std::shared_ptr<grpc::Channel> NewPeerChannel(
    const std::string& target, const std::string& name_address,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials, grpc::ChannelArguments args) {
  if (!credentials) {
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  }
  // A numeric target ("ipv4:...") carries no name to check the certificate against: the host the
  // operator wrote is the one its certificate must name.
  std::string host;
  int port = 0;
  if (SplitHostPort(name_address, &host, &port)) args.SetSslTargetNameOverride(host);
  return grpc::CreateCustomChannel(target, credentials, args);
}

}  // namespace percore::remote
