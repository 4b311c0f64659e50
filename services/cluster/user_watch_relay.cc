#include "services/cluster/user_watch_relay.h"

#include <grpcpp/client_context.h>

#include <algorithm>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "core/base/uuid.h"
#include "core/cluster/forwarded_mark.h"
#include "services/cluster/member_stream_source.h"
#include "user/v1/user.pb.h"

namespace percore::cluster {
namespace {

using WatchStream = rpc::ServerStream<::user::v1::WatchUserRequest, ::user::v1::UserUpdate>;
class WatchRelay;
// One marked WatchUserUpdates to a member.
using WatchSource = MemberStreamSource<WatchRelay>;

class WatchRelay : public std::enable_shared_from_this<WatchRelay> {
 public:
  WatchRelay(WatchStream call, size_t sources) : call_(std::move(call)), sources_(sources) {}

  void Start(const std::vector<PartitionId>& partitions, MemberLinks& links, PartitionId self);
  // A source's member has registered its watch.
  void Registered() {
    if (++registered_ == sources_ && !ended_) call_.SendInitialMetadata();
  }
  // A message from `source`: kRead when the client's stream took it; kWait when it waits for
  // room (the relay resumes the source); kStop when the client's watch is over.
  StreamNext Deliver(WatchSource* source, std::string bytes);
  // The first source to end ends the client's watch (naming its partition unless OK).
  void Ended(WatchSource* source, Status status, const grpc::ClientContext& context);

 private:
  void Drain();
  // Ends every source: those waiting (no operation in flight) finish now, the others are
  // cancelled and finish when their operation completes.
  void StopSources();

  WatchStream call_;
  size_t sources_;
  size_t registered_ = 0;
  bool ended_ = false;
  std::vector<WatchSource*> live_;                            // sources not yet finished
  std::deque<std::pair<WatchSource*, std::string>> waiting_;  // at most one per source
};

void WatchRelay::Start(const std::vector<PartitionId>& partitions, MemberLinks& links,
                       PartitionId self) {
  std::weak_ptr<WatchRelay> weak = weak_from_this();
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
    call_.Finish(Status(StatusCode::kUnavailable, "this server is shutting down"));
    return;
  }
  const std::string request = call_.request().SerializeAsString();
  for (PartitionId partition : partitions) {
    auto* source = new WatchSource(
        shared_from_this(), shard_links.calls,
        "partition " + std::to_string(partition) + " (" + links.member(partition) + ")");
    live_.push_back(source);
    source->Start(links.StubFor(shard_links, partition), shard.cq(),
                  "/user.v1.UserService/WatchUserUpdates", request, call_.deadline(),
                  {{std::string(kForwardedFromKey), std::to_string(self)}});
  }
}

StreamNext WatchRelay::Deliver(WatchSource* source, std::string bytes) {
  if (ended_ || call_.cancelled()) return StreamNext::kStop;  // OnCancel stops the others
  if (waiting_.empty() && call_.WriteRaw(rpc::SerializedMessage::Copy(bytes))) {
    return StreamNext::kRead;
  }
  waiting_.emplace_back(source, std::move(bytes));
  if (waiting_.size() == 1) {
    call_.OnWritable([self = shared_from_this()] { self->Drain(); });
  }
  return StreamNext::kWait;
}

void WatchRelay::Drain() {
  while (!ended_ && !waiting_.empty()) {
    if (!call_.WriteRaw(rpc::SerializedMessage::Copy(waiting_.front().second))) {
      if (call_.cancelled()) return;
      call_.OnWritable([self = shared_from_this()] { self->Drain(); });
      return;
    }
    WatchSource* source = waiting_.front().first;
    waiting_.pop_front();
    source->ReadNext();
  }
}

void WatchRelay::Ended(WatchSource* source, Status status, const grpc::ClientContext& /*context*/) {
  if (!status.ok()) status = Status(status.code(), source->who() + ": " + status.message());
  std::erase(live_, source);
  std::erase_if(waiting_, [source](const auto& entry) { return entry.first == source; });
  if (ended_) return;
  ended_ = true;
  call_.Finish(status);
  StopSources();
}

void WatchRelay::StopSources() {
  std::vector<WatchSource*> idle;
  for (auto& [source, bytes] : waiting_) idle.push_back(source);
  waiting_.clear();
  for (WatchSource* source : live_) {
    if (std::find(idle.begin(), idle.end(), source) == idle.end()) source->Cancel();
  }
  for (WatchSource* source : idle) source->Stop();  // each finishes through its tag, later
}

}  // namespace

user::ClusterWatch MakeUserWatchRelay(const ClusterPlacement& placement,
                                      std::shared_ptr<MemberLinks> links) {
  return [placement, links = std::move(links)](const WatchStream& call) {
    if (call.metadata(kForwardedFromKey).has_value()) return false;  // a member's: serve here
    std::vector<PartitionId> partitions;
    const std::string& user_id = call.request().user_id();
    if (!user_id.empty()) {
      std::optional<Uuid> id = Uuid::Parse(user_id);
      if (!id) return false;  // the handler names the field
      PartitionId owner = placement.OwnerOf(id->view());
      if (owner == placement.self) return false;
      partitions.push_back(owner);
    } else {
      for (PartitionId p = 0; p < placement.partitions; ++p) partitions.push_back(p);
    }
    auto relay = std::make_shared<WatchRelay>(call, partitions.size());
    relay->Start(partitions, *links, placement.self);
    return true;
  };
}

}  // namespace percore::cluster
