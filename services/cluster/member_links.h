#pragma once
// Threading contract: made on the control thread before the runtime runs; ForShard(), StubFor(),
// member() and Close() on a shard thread of one Runtime, each touching only that shard's state
// (no lock on the request path); UpdateMembers() from any thread but a shard's (the etcd
// watcher's): the new list reaches each shard as a task in its mailbox, so a shard swaps its own
// copy between calls, and it returns once every shard has it.
// Destroyed after the runtime has stopped (its queues drained, so no forwarded call is pending).
//
// The connections from this process to the other members of its cluster: per member and per
// shard a channel and its generic stub (shards share no connection, as with remote::RemotePeer),
// and the forwarded calls each shard has in flight, so shutdown can cancel them. Members are
// named by DNS (gRPC's resolver re-resolves a name whose address changed, as a restarted
// Kubernetes pod's does). Connecting is bounded short (connect_timeout_ms): a member that is down
// turns its calls into UNAVAILABLE within about that long, and one that comes back is retried
// every max_reconnect_backoff_ms at most.
//
// Membership is static (--members) or live (--etcd: services/cluster/etcd_membership.h feeds
// UpdateMembers()). Each shard holds its own immutable member list; a member whose address
// changed gets a new channel on its next call, one with no live member (its lease expired) is
// answered UNAVAILABLE at once through a channel that cannot connect.
//
// With --peer-tls-* the channels are TLS (mutual with --peer-tls-cert) made by the same code as a
// --peer's (services/remote/peer_channel.h), each member's certificate checked against the host
// of its address; SetChannelCredentials() before the runtime runs, ReloadCredentials() on SIGHUP
// (from the control thread: each shard, through its mailbox, drops its links, so its next calls
// open new connections with the new certificate; calls in flight finish on the old channels).

#include <grpcpp/channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/runtime/shard.h"
#include "services/remote/in_flight_calls.h"
#include "services/remote/per_shard.h"

namespace percore::cluster {

struct MemberLinkOptions {
  int connect_timeout_ms = 1000;
  int max_reconnect_backoff_ms = 1000;
};

class MemberLinks {
 public:
  // `members`: HOST:PORT by partition (this process's own entry is never dialled).
  MemberLinks(std::vector<std::string> members, MemberLinkOptions options = {});

  // Addresses by partition; "" for a partition with no live member.
  using MemberList = std::shared_ptr<const std::vector<std::string>>;

  struct Link {
    std::string address;  // what the channel dials
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<grpc::GenericStub> stub;
  };
  struct ShardLinks {
    MemberList members;
    std::vector<Link> by_member;  // made on first use, remade when the address changes
    remote::InFlightCalls calls;
    bool closed = false;  // after Close(): new calls fail at once
    // What this shard's channels are made with (nullptr: plaintext); replaced by a reload.
    std::shared_ptr<grpc::ChannelCredentials> credentials;
  };

  ShardLinks& ForShard(runtime::Shard& shard);
  // The stub to `member` for this shard (made on first use).
  grpc::GenericStub& StubFor(ShardLinks& links, size_t member);
  // Cancels this shard's forwarded calls and fails later ones at once (shutdown, after grace).
  void Close(runtime::Shard& shard);

  // Any thread but a shard's: every shard of `runtime` takes `members` (by partition, "" for
  // none) through its mailbox; returns once each has (what is logged after it is true). A list
  // of another length is a bug (partitions are fixed at deploy).
  void UpdateMembers(runtime::Runtime& runtime, std::vector<std::string> members);
  // Any thread: a grown cluster's longer list (cluster_admin.h's Switch), taken the same way;
  // each shard makes room for the new partitions' links.
  void GrowMembers(runtime::Runtime& runtime, std::vector<std::string> members);

  // Partition `index`'s address as the calling shard sees it (off a shard: the first list), or
  // kNoLiveMember; for messages naming a member.
  const std::string& member(size_t index);
  size_t size() const { return size_; }  // the count at start (before any growth)

  static const std::string kNoLiveMember;

  // The `authorization` value this process's own calls to members present (the calls its
  // services make: the saga's inventory and payment steps); forwarded calls carry the caller's.
  // Set on the control thread before the shards start (--peer-token-file).
  void SetAuthorization(std::string value) { authorization_ = std::move(value); }
  const std::string& authorization() const { return authorization_; }

  // TLS to the members (--peer-tls-*): on the control thread before the shards start.
  void SetChannelCredentials(std::shared_ptr<grpc::ChannelCredentials> credentials) {
    credentials_ = std::move(credentials);
  }
  // SIGHUP (--peer-tls-* read again), any thread but a shard's once the runtime runs: every
  // shard takes `credentials` through its mailbox and remakes its links on their next use;
  // returns once each has.
  void ReloadCredentials(runtime::Runtime& runtime,
                         std::shared_ptr<grpc::ChannelCredentials> credentials);

 private:
  size_t size_;
  MemberList initial_;
  MemberLinkOptions options_;
  std::string authorization_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;  // nullptr: plaintext
  remote::PerShard<ShardLinks> shards_;
};

}  // namespace percore::cluster
