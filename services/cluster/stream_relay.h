#pragma once
// Threading contract: a relay lives on the shard that serves the client's server-streaming call:
// its sources' tags run on that shard's completion queue and the client's stream callbacks on
// that shard too, so nothing is locked. It is freed once every source has finished and the
// client's call has let go of its callbacks. Sources are listed in the shard's in-flight calls
// (shutdown cancels them).
//
// A client's server-streaming call served from other members: one marked call per partition
// (member_stream_source.h) with the request's bytes and the caller's deadline, their messages
// passed on to the client. One partition: a stream another partition owns (ListOrders and
// WatchOrderUpdates of a user whose orders live there; a watch of one user). Several: a fan-in
// (WatchUserUpdates of every user, this partition included over its own address).
// - The client's initial metadata goes out once every source has sent its own (a watch's
//   "registered" signal).
// - Backpressure: each source has at most one message waiting for the client's room; while it
//   waits that source is not read, so the member's own backlog limit applies.
// - The first source to end ends the client's call with its status (UNAVAILABLE naming the
//   partition when it is down) and, when OK, its "next-page-token" trailing metadata; the other
//   sources are stopped. A client that cancels stops every source.

#include <grpcpp/client_context.h>

#include <algorithm>
#include <deque>
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

struct StreamRelayOptions {
  // Send the caller's authorization and trace context with the mark.
  bool caller_metadata = true;
  // Prefix every error with its source's partition (a fan-in's); otherwise only UNAVAILABLE
  // is named and the owner's other answers pass as it gave them.
  bool name_every_error = false;
};

template <class Req, class Resp>
class StreamRelay : public std::enable_shared_from_this<StreamRelay<Req, Resp>> {
 public:
  using Stream = rpc::ServerStream<Req, Resp>;

  // Takes `call` and serves it from `partitions` (other members, or this one over its own
  // address). `path`: the method's.
  static void Start(Stream call, const std::string& path, MemberLinks& links, PartitionId self,
                    const std::vector<PartitionId>& partitions, StreamRelayOptions options = {}) {
    auto relay = std::make_shared<StreamRelay>(std::move(call), partitions.size(), options);
    relay->Begin(path, links, self, partitions);
  }

  StreamRelay(Stream call, size_t sources, StreamRelayOptions options)
      : call_(std::move(call)), sources_(sources), options_(options) {}

 private:
  using Source = MemberStreamSource<StreamRelay>;
  friend Source;

  void Begin(const std::string& path, MemberLinks& links, PartitionId self,
             const std::vector<PartitionId>& partitions) {
    std::weak_ptr<StreamRelay> weak = this->weak_from_this();
    call_.OnCancel([weak] {
      if (auto relay = weak.lock()) {
        relay->ended_ = true;
        relay->StopSources();
      }
    });
    runtime::Shard& shard = call_.shard();
    MemberLinks::ShardLinks& shard_links = links.ForShard(shard);
    if (shard_links.closed || !shard.cq_open()) {
      ended_ = true;
      std::string message = "this server is shutting down";
      if (partitions.size() == 1) {
        message = MemberName(links, partitions[0]) + " is not reachable: " + message;
      }
      call_.Finish(Status(StatusCode::kUnavailable, message));
      return;
    }
    std::vector<std::pair<std::string, std::string>> metadata;
    if (options_.caller_metadata) {
      for (const char* name : {"authorization", "traceparent", "tracestate"}) {
        if (std::optional<std::string_view> value = call_.metadata(name)) {
          metadata.emplace_back(name, std::string(*value));
        }
      }
    }
    metadata.emplace_back(kForwardedFromKey, std::to_string(self));
    const std::string request = call_.request().SerializeAsString();
    for (PartitionId partition : partitions) {
      auto* source =
          new Source(this->shared_from_this(), shard_links.calls, MemberName(links, partition));
      live_.push_back(source);
      source->Start(links.StubFor(shard_links, partition), shard.cq(), path, request,
                    call_.deadline(), metadata);
    }
  }

  void Registered() {
    if (++registered_ == sources_ && !ended_) call_.SendInitialMetadata();
  }

  // kRead when the client's stream took the message; kWait when it waits for room (Drain
  // resumes the source); kStop when the client's call is over (OnCancel stops the others).
  StreamNext Deliver(Source* source, std::string bytes) {
    if (ended_ || call_.cancelled()) return StreamNext::kStop;
    if (waiting_.empty() && call_.WriteRaw(rpc::SerializedMessage::Copy(bytes))) {
      return StreamNext::kRead;
    }
    waiting_.emplace_back(source, std::move(bytes));
    if (waiting_.size() == 1) {
      call_.OnWritable([self = this->shared_from_this()] { self->Drain(); });
    }
    return StreamNext::kWait;
  }

  void Drain() {
    while (!ended_ && !waiting_.empty()) {
      if (!call_.WriteRaw(rpc::SerializedMessage::Copy(waiting_.front().second))) {
        if (call_.cancelled()) return;
        call_.OnWritable([self = this->shared_from_this()] { self->Drain(); });
        return;
      }
      Source* source = waiting_.front().first;
      waiting_.pop_front();
      source->ReadNext();
    }
  }

  void Ended(Source* source, Status status, const grpc::ClientContext& context) {
    std::erase(live_, source);
    std::erase_if(waiting_, [source](const auto& entry) { return entry.first == source; });
    if (ended_) return;
    ended_ = true;
    if (status.code() == StatusCode::kUnavailable && !options_.name_every_error) {
      status = Status(status.code(), source->who() + " is unavailable: " + status.message());
    } else if (!status.ok() && options_.name_every_error) {
      status = Status(status.code(), source->who() + ": " + status.message());
    }
    if (status.ok()) {
      const auto& trailing = context.GetServerTrailingMetadata();
      if (auto it = trailing.find("next-page-token"); it != trailing.end()) {
        call_.AddTrailingMetadata("next-page-token",
                                  std::string(it->second.data(), it->second.size()));
      }
    }
    call_.Finish(status);
    StopSources();
  }

  // Ends every source: those waiting for room (no operation in flight) finish now, the others
  // are cancelled and finish when their operation completes.
  void StopSources() {
    std::vector<Source*> idle;
    for (auto& [source, bytes] : waiting_) idle.push_back(source);
    waiting_.clear();
    for (Source* source : live_) {
      if (std::find(idle.begin(), idle.end(), source) == idle.end()) source->Cancel();
    }
    for (Source* source : idle) source->Stop();  // each finishes through its tag, later
  }

  Stream call_;
  size_t sources_;
  StreamRelayOptions options_;
  size_t registered_ = 0;
  bool ended_ = false;
  std::vector<Source*> live_;                            // sources not yet finished
  std::deque<std::pair<Source*, std::string>> waiting_;  // at most one per source
};

}  // namespace percore::cluster
