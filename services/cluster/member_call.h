#pragma once
// Threading contract: CallMember() and LocalOrMember() on a shard thread (Shard::Current());
// `done` runs exactly once on that same thread (inline when the member cannot be reached at all).
//
// One typed unary call from this member to another partition's member, for what the services of
// this process ask of the cluster (the order saga's inventory and payment calls, the parts of a
// reservation spread over partitions): the request serialized, sent at the byte level over the
// shard's member link (forwarded_call.h) with the caller's deadline and the forwarded mark (the
// receiver serves it itself, never forwarding it again), the answer parsed back. An UNAVAILABLE
// answer names the partition and its address. The caller's wait_for_ready is honoured (it waits
// for an unreachable member within the deadline); without it the call fails at once.

#include <google/protobuf/message.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/cluster/forwarded_mark.h"
#include "core/cluster/partition_for.h"
#include "core/runtime/shard.h"
#include "services/clients/call_options.h"
#include "services/cluster/forwarded_call.h"
#include "services/cluster/member_links.h"

namespace percore::cluster {

// Not const: the address is the calling shard's view of the (possibly live, --etcd) membership.
inline std::string MemberName(MemberLinks& links, PartitionId partition) {
  return "partition " + std::to_string(partition) + " (" + links.member(partition) + ")";
}

// Metadata a call to a member carries besides the mark and the authorization.
using MemberMetadata = std::vector<std::pair<std::string, std::string>>;

// CallMember with `extra` metadata too (an internal marked call:
// services/user/email_claim_marks.h).
template <class Resp>
void CallMemberWith(MemberLinks& links, PartitionId self, PartitionId partition, std::string path,
                    const google::protobuf::Message& request, const clients::CallOptions& options,
                    MemberMetadata extra, clients::Done<Resp> done) {
  runtime::Shard* shard = runtime::Shard::Current();
  std::string who = MemberName(links, partition);
  MemberLinks::ShardLinks& shard_links = links.ForShard(*shard);
  // A closing shard may start no gRPC operation on its queue (gRPC asserts).
  if (shard_links.closed || !shard->cq_open()) {
    done(Status(StatusCode::kUnavailable, who + " is not reachable: this server is shutting down"),
         Resp());
    return;
  }
  ForwardRequest forward;
  forward.path = std::move(path);
  grpc::Slice slice(request.SerializeAsString());
  forward.request = grpc::ByteBuffer(&slice, 1);
  if (options.deadline < std::chrono::system_clock::now() + std::chrono::hours(24 * 365)) {
    forward.deadline = options.deadline;
  }
  // A call that must not be lost but is safe to send late (the saga's stock return) waits for
  // the member, within its deadline, as a --peer call does (remote_unary_call.h).
  forward.wait_for_ready = options.wait_for_ready;
  forward.metadata.emplace_back(kForwardedFromKey, std::to_string(self));
  if (!links.authorization().empty()) {
    forward.metadata.emplace_back("authorization", links.authorization());
  }
  for (auto& entry : extra) forward.metadata.push_back(std::move(entry));
  ForwardedCall::Start(
      links.StubFor(shard_links, partition), shard_links.calls, shard->cq(), std::move(forward),
      [done = std::move(done), who = std::move(who)](const Status& status,
                                                     const rpc::SerializedMessage& bytes) {
        Resp response;
        if (!status.ok()) {
          const std::string prefix =
              status.code() == StatusCode::kUnavailable ? who + " is unavailable: " : "";
          done(Status(status.code(), prefix + status.message()), std::move(response));
          return;
        }
        if (!response.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
          done(Status(StatusCode::kInternal, who + " sent a response that does not parse"),
               std::move(response));
          return;
        }
        done(Status(), std::move(response));
      });
}

template <class Resp>
void CallMember(MemberLinks& links, PartitionId self, PartitionId partition, std::string path,
                const google::protobuf::Message& request, const clients::CallOptions& options,
                clients::Done<Resp> done) {
  CallMemberWith<Resp>(links, self, partition, std::move(path), request, options, {},
                       std::move(done));
}

// The cluster clients' one choice per call: a key this partition owns goes to `local`'s `method`
// (the hosted service, or a --peer), another partition's to its member at `path` by CallMember.
// `owner` is computed by the caller before `request` is moved in.
template <class Resp, class Client, class Req>
void LocalOrMember(MemberLinks& links, PartitionId self, PartitionId owner, std::string path,
                   Client& local,
                   void (Client::*method)(Req, const clients::CallOptions&, clients::Done<Resp>),
                   Req request, const clients::CallOptions& options, clients::Done<Resp> done) {
  if (owner == self) return (local.*method)(std::move(request), options, std::move(done));
  CallMember<Resp>(links, self, owner, std::move(path), request, options, std::move(done));
}

}  // namespace percore::cluster
