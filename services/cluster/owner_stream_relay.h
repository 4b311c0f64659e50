#pragma once
// Threading contract: a relay lives on the shard that serves the client's server-streaming call:
// its source's tags run on that shard's completion queue and the client's stream callbacks on
// that shard too, so nothing is locked. It is freed once the source has finished and the
// client's call has let go of its callbacks. The source is listed in the shard's in-flight calls
// (shutdown cancels it).
//
// A server-streaming call whose key another partition owns (ListOrders and WatchOrderUpdates of
// a user whose orders live there), relayed from that partition's member: one marked call with
// the request's bytes, the caller's deadline, authorization and trace context; the client's
// initial metadata goes out when the owner's arrives (a watch's "registered" signal); every
// message is passed on with backpressure (at most one waits for the client's room, and while it
// waits the owner's stream is not read, so the owner's backlog limit applies); the owner's
// "next-page-token" trailing metadata and status end the client's call (UNAVAILABLE naming the
// partition when it is down). A client that cancels cancels the source.

#include <grpcpp/client_context.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/cluster/forwarded_mark.h"
#include "core/rpc/server_stream_call.h"
#include "services/cluster/member_call.h"
#include "services/cluster/member_links.h"
#include "services/cluster/member_stream_source.h"

namespace percore::cluster {

template <class Req, class Resp>
class OwnerStreamRelay : public std::enable_shared_from_this<OwnerStreamRelay<Req, Resp>> {
 public:
  using Stream = rpc::ServerStream<Req, Resp>;

  // Takes `call` and relays it from `owner` (another partition). `path`: the method's.
  static void Start(Stream call, std::string path, MemberLinks& links, PartitionId self,
                    PartitionId owner) {
    auto relay = std::make_shared<OwnerStreamRelay>(std::move(call));
    relay->Begin(std::move(path), links, self, owner);
  }

  explicit OwnerStreamRelay(Stream call) : call_(std::move(call)) {}

 private:
  using Source = MemberStreamSource<OwnerStreamRelay>;
  friend Source;

  void Begin(std::string path, MemberLinks& links, PartitionId self, PartitionId owner) {
    std::weak_ptr<OwnerStreamRelay> weak = this->weak_from_this();
    call_.OnCancel([weak] {
      if (auto relay = weak.lock()) {
        relay->ended_ = true;
        relay->StopSource();
      }
    });
    runtime::Shard& shard = call_.shard();
    MemberLinks::ShardLinks& shard_links = links.ForShard(shard);
    if (shard_links.closed || !shard.cq_open()) {
      ended_ = true;
      call_.Finish(Status(StatusCode::kUnavailable, MemberName(links, owner) +
                                                        " is not reachable: this server is "
                                                        "shutting down"));
      return;
    }
    source_ = new Source(this->shared_from_this(), shard_links.calls, MemberName(links, owner));
    std::vector<std::pair<std::string, std::string>> metadata;
    for (const char* name : {"authorization", "traceparent", "tracestate"}) {
      if (std::optional<std::string_view> value = call_.metadata(name)) {
        metadata.emplace_back(name, std::string(*value));
      }
    }
    metadata.emplace_back(kForwardedFromKey, std::to_string(self));
    source_->Start(links.StubFor(shard_links, owner), shard.cq(), std::move(path),
                   call_.request().SerializeAsString(), call_.deadline(), metadata);
  }

  void Registered() {
    if (!ended_) call_.SendInitialMetadata();
  }

  StreamNext Deliver(Source* /*source*/, std::string bytes) {
    if (ended_ || call_.cancelled()) return StreamNext::kStop;
    if (!waiting_ && call_.WriteRaw(rpc::SerializedMessage::Copy(bytes))) return StreamNext::kRead;
    waiting_ = std::move(bytes);
    call_.OnWritable([self = this->shared_from_this()] { self->Drain(); });
    return StreamNext::kWait;
  }

  void Drain() {
    if (ended_ || !waiting_ || source_ == nullptr) return;
    if (!call_.WriteRaw(rpc::SerializedMessage::Copy(*waiting_))) {
      if (call_.cancelled()) return;
      call_.OnWritable([self = this->shared_from_this()] { self->Drain(); });
      return;
    }
    waiting_.reset();
    source_->ReadNext();
  }

  // The owner's status (UNAVAILABLE naming the partition) and next-page-token end the call.
  void Ended(Source* source, Status status, const grpc::ClientContext& context) {
    source_ = nullptr;
    waiting_.reset();
    if (ended_) return;
    ended_ = true;
    if (status.code() == StatusCode::kUnavailable) {
      status = Status(status.code(), source->who() + " is unavailable: " + status.message());
    }
    if (status.ok()) {
      const auto& trailing = context.GetServerTrailingMetadata();
      if (auto it = trailing.find("next-page-token"); it != trailing.end()) {
        call_.AddTrailingMetadata("next-page-token",
                                  std::string(it->second.data(), it->second.size()));
      }
    }
    call_.Finish(status);
  }

  // Ends the source: finished now if it waits for room (no operation in flight), else
  // cancelled (it finishes when its operation completes).
  void StopSource() {
    if (source_ == nullptr) return;
    if (waiting_) {
      waiting_.reset();
      source_->Stop();
    } else {
      source_->Cancel();
    }
  }

  Stream call_;
  bool ended_ = false;
  Source* source_ = nullptr;            // until it has finished
  std::optional<std::string> waiting_;  // a message waiting for the client's room
};

}  // namespace percore::cluster
