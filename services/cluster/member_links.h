#pragma once
// Threading contract: made on the control thread before the runtime runs; ForShard() and Close()
// on a shard thread of one Runtime, each touching only that shard's state (no lock on the
// request path); destroyed after the runtime has stopped (its queues drained, so no forwarded
// call is still pending).
//
// The connections from this process to the other members of its cluster: per member and per
// shard a channel and its generic stub (shards share no connection, as with remote::RemotePeer),
// and the forwarded calls each shard has in flight, so shutdown can cancel them. Members are
// named by DNS (gRPC's resolver re-resolves a name whose address changed, as a restarted
// Kubernetes pod's does). Connecting is bounded short (connect_timeout_ms): a member that is down
// turns its calls into UNAVAILABLE within about that long, and one that comes back is retried
// every max_reconnect_backoff_ms at most.

#include <grpcpp/channel.h>
#include <grpcpp/generic/generic_stub.h>

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

  struct Link {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<grpc::GenericStub> stub;
  };
  struct ShardLinks {
    std::vector<Link> by_member;  // made on first use
    remote::InFlightCalls calls;
    bool closed = false;  // after Close(): new calls fail at once
  };

  ShardLinks& ForShard(runtime::Shard& shard);
  // The stub to `member` for this shard (made on first use).
  grpc::GenericStub& StubFor(ShardLinks& links, size_t member);
  // Cancels this shard's forwarded calls and fails later ones at once (shutdown, after grace).
  void Close(runtime::Shard& shard);

  const std::string& member(size_t index) const { return members_[index]; }
  size_t size() const { return members_.size(); }

  // The `authorization` value this process's own calls to members present (the calls its
  // services make: the saga's inventory and payment steps); forwarded calls carry the caller's.
  // Set on the control thread before the shards start (--peer-token-file).
  void SetAuthorization(std::string value) { authorization_ = std::move(value); }
  const std::string& authorization() const { return authorization_; }

 private:
  std::vector<std::string> members_;
  MemberLinkOptions options_;
  std::string authorization_;
  remote::PerShard<ShardLinks> shards_;
};

}  // namespace percore::cluster
