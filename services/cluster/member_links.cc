#include "services/cluster/member_links.h"

#include <grpc/grpc.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <utility>

namespace percore::cluster {

MemberLinks::MemberLinks(std::vector<std::string> members, MemberLinkOptions options)
    : members_(std::move(members)), options_(options) {}

MemberLinks::ShardLinks& MemberLinks::ForShard(runtime::Shard& shard) {
  return shards_.Get(shard, [this] {
    auto links = std::make_unique<ShardLinks>();
    links->by_member.resize(members_.size());
    return links;
  });
}

grpc::GenericStub& MemberLinks::StubFor(ShardLinks& links, size_t member) {
  Link& link = links.by_member[member];
  if (!link.stub) {
    grpc::ChannelArguments args;
    // Each shard's channel gets its own connections instead of gRPC's process-wide pool.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // gRPC bounds a connection attempt by max(this, backoff): 20 s by default, far too long to
    // learn that a member is down.
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, options_.connect_timeout_ms);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, options_.max_reconnect_backoff_ms);
    link.channel = grpc::CreateCustomChannel("dns:///" + members_[member],
                                             grpc::InsecureChannelCredentials(), args);
    link.stub = std::make_unique<grpc::GenericStub>(link.channel);
  }
  return *link.stub;
}

void MemberLinks::Close(runtime::Shard& shard) {
  ShardLinks& links = ForShard(shard);
  links.closed = true;
  links.calls.CancelAll();
}

}  // namespace percore::cluster
