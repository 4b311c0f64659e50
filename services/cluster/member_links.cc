#include "services/cluster/member_links.h"

#include <grpc/grpc.h>
#include <grpcpp/support/channel_arguments.h>

#include <cassert>
#include <utility>

#include "services/remote/peer_channel.h"

namespace percore::cluster {
namespace {

// Where a partition with no live member is "dialled": a socket path that cannot exist, so the
// call fails UNAVAILABLE at once (wait_for_ready is off) instead of waiting for an address.
constexpr char kNowhere[] = "unix:/nonexistent/percore-partition-without-a-live-member";

}  // namespace

const std::string MemberLinks::kNoLiveMember = "no live member registered";

MemberLinks::MemberLinks(std::vector<std::string> members, MemberLinkOptions options)
    : size_(members.size()),
      initial_(std::make_shared<const std::vector<std::string>>(std::move(members))),
      options_(options) {}

MemberLinks::ShardLinks& MemberLinks::ForShard(runtime::Shard& shard) {
  return shards_.Get(shard, [this] {
    auto links = std::make_unique<ShardLinks>();
    links->members = initial_;
    links->by_member.resize(size_);
    links->credentials = credentials_;
    return links;
  });
}

grpc::GenericStub& MemberLinks::StubFor(ShardLinks& links, size_t member) {
  // A partition past this shard's list (a grown placement seen before its members arrive
  // through the mailbox) dials nowhere: UNAVAILABLE at once.
  if (links.by_member.size() <= member) links.by_member.resize(member + 1);
  static const std::string kNone;
  Link& link = links.by_member[member];
  const std::string& address = member < links.members->size() ? (*links.members)[member] : kNone;
  if (!link.stub || link.address != address) {
    // A replaced channel's calls in flight keep what they need (gRPC counts their references);
    // they finish or are cancelled as before.
    grpc::ChannelArguments args;
    // Each shard's channel gets its own connections instead of gRPC's process-wide pool.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // gRPC bounds a connection attempt by max(this, backoff): 20 s by default, far too long to
    // learn that a member is down.
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, options_.connect_timeout_ms);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, options_.max_reconnect_backoff_ms);
    link.address = address;
    link.channel = address.empty() ? remote::NewPeerChannel(kNowhere, "", nullptr, std::move(args))
                                   : remote::NewPeerChannel("dns:///" + address, address,
                                                            links.credentials, std::move(args));
    link.stub = std::make_unique<grpc::GenericStub>(link.channel);
  }
  return *link.stub;
}

void MemberLinks::Close(runtime::Shard& shard) {
  ShardLinks& links = ForShard(shard);
  links.closed = true;
  links.calls.CancelAll();
}

void MemberLinks::UpdateMembers(runtime::Runtime& runtime, std::vector<std::string> members) {
  assert(members.size() == size_);
  if (members.size() != size_) return;
  MemberList list = std::make_shared<const std::vector<std::string>>(std::move(members));
  runtime.RunOnAllAndWait([this, list](runtime::Shard& shard) { ForShard(shard).members = list; });
}

void MemberLinks::GrowMembers(runtime::Runtime& runtime, std::vector<std::string> members) {
  MemberList list = std::make_shared<const std::vector<std::string>>(std::move(members));
  runtime.RunOnAll([this, list](runtime::Shard& shard) {
    ShardLinks& links = ForShard(shard);
    links.members = list;
    if (links.by_member.size() < list->size()) links.by_member.resize(list->size());
  });
}

void MemberLinks::ReloadCredentials(runtime::Runtime& runtime,
                                    std::shared_ptr<grpc::ChannelCredentials> credentials) {
  runtime.RunOnAllAndWait([this, credentials](runtime::Shard& shard) {
    ShardLinks& links = ForShard(shard);
    links.credentials = credentials;
    for (Link& link : links.by_member) link.stub.reset();  // remade on next use
  });
}

const std::string& MemberLinks::member(size_t index) {
  runtime::Shard* shard = runtime::Shard::Current();
  const MemberList& list = shard ? ForShard(*shard).members : initial_;
  if (index >= list->size()) return kNoLiveMember;
  const std::string& address = (*list)[index];
  return address.empty() ? kNoLiveMember : address;
}

}  // namespace percore::cluster
