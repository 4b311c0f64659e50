#include "services/cluster/user_watch_relay.h"

#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <algorithm>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "core/base/uuid.h"
#include "core/cluster/forwarded_mark.h"
#include "core/rpc/grpc_status.h"
#include "core/runtime/completion_tag.h"
#include "services/remote/in_flight_calls.h"
#include "user/v1/user.pb.h"

namespace percore::cluster {
namespace {

using WatchStream = rpc::ServerStream<::user::v1::WatchUserRequest, ::user::v1::UserUpdate>;
class WatchSource;

class WatchRelay : public std::enable_shared_from_this<WatchRelay> {
 public:
  WatchRelay(WatchStream call, size_t sources) : call_(std::move(call)), sources_(sources) {}

  void Start(const std::vector<PartitionId>& partitions, MemberLinks& links, PartitionId self);
  // A source's member has registered its watch.
  void Registered() {
    if (++registered_ == sources_ && !ended_) call_.SendInitialMetadata();
  }
  // What a source does after delivering a message.
  enum class Next { kRead, kWait, kStop };
  // A message from `source`: kRead when the client's stream took it; kWait when it waits for
  // room (the relay resumes the source); kStop when the client's watch is over.
  Next Deliver(WatchSource* source, std::string bytes);
  void Ended(WatchSource* source, const Status& status);

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

// One marked WatchUserUpdates to a member. Operations one at a time: start, the request with
// the half-close, the initial metadata, then the reads; any ok == false goes on to the finish.
class WatchSource final : public remote::InFlightCall {
 public:
  WatchSource(std::shared_ptr<WatchRelay> relay, remote::InFlightCalls& calls, std::string who)
      : relay_(std::move(relay)), calls_(calls), who_(std::move(who)) {}

  void Start(grpc::GenericStub& stub, grpc::CompletionQueue* cq, const std::string& request,
             std::chrono::system_clock::time_point deadline, PartitionId self) {
    if (deadline < std::chrono::system_clock::now() + std::chrono::hours(24 * 365)) {
      context_.set_deadline(deadline);
    }
    context_.set_wait_for_ready(false);
    context_.AddMetadata(kForwardedFromKey, std::to_string(self));
    grpc::Slice slice(request);
    request_ = grpc::ByteBuffer(&slice, 1);
    stream_ = stub.PrepareCall(&context_, "/user.v1.UserService/WatchUserUpdates", cq);
    stream_->StartCall(&start_tag_);
    calls_.Add(this);
  }
  void Cancel() override { context_.TryCancel(); }
  void ReadNext() { stream_->Read(&response_, &read_tag_); }
  // For a source with no operation in flight (waiting for the client's room).
  void Stop() {
    context_.TryCancel();
    Finish();
  }

 private:
  ~WatchSource() = default;

  void OnStart(bool ok) {
    if (!ok) return Finish();
    stream_->Write(request_, grpc::WriteOptions().set_last_message(), &write_tag_);
  }
  void OnWrite(bool ok) {
    if (!ok) return Finish();
    stream_->ReadInitialMetadata(&metadata_tag_);
  }
  void OnMetadata(bool ok) {
    if (!ok) return Finish();
    relay_->Registered();
    ReadNext();
  }
  void OnRead(bool ok) {
    if (!ok) return Finish();
    grpc::Slice slice;
    std::string bytes;
    if (response_.TrySingleSlice(&slice).ok() || response_.DumpToSingleSlice(&slice).ok()) {
      bytes.assign(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    switch (relay_->Deliver(this, std::move(bytes))) {
      case WatchRelay::Next::kRead:
        return ReadNext();
      case WatchRelay::Next::kWait:
        return;  // the relay calls ReadNext() or Stop()
      case WatchRelay::Next::kStop:
        return Stop();
    }
  }
  void Finish() { stream_->Finish(&status_, &finish_tag_); }
  void OnFinish(bool /*ok*/) {
    calls_.Remove(this);
    Status status = rpc::FromGrpcStatus(status_);
    if (!status.ok()) status = Status(status.code(), who_ + ": " + status.message());
    std::shared_ptr<WatchRelay> relay = std::move(relay_);
    relay->Ended(this, status);
    delete this;
  }

  std::shared_ptr<WatchRelay> relay_;
  remote::InFlightCalls& calls_;
  std::string who_;
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> stream_;
  grpc::ByteBuffer response_;
  grpc::Status status_;
  runtime::CompletionTag start_tag_{&runtime::OnTag<WatchSource, &WatchSource::OnStart>, this};
  runtime::CompletionTag write_tag_{&runtime::OnTag<WatchSource, &WatchSource::OnWrite>, this};
  runtime::CompletionTag metadata_tag_{&runtime::OnTag<WatchSource, &WatchSource::OnMetadata>,
                                       this};
  runtime::CompletionTag read_tag_{&runtime::OnTag<WatchSource, &WatchSource::OnRead>, this};
  runtime::CompletionTag finish_tag_{&runtime::OnTag<WatchSource, &WatchSource::OnFinish>, this};
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
    source->Start(links.StubFor(shard_links, partition), shard.cq(), request, call_.deadline(),
                  self);
  }
}

WatchRelay::Next WatchRelay::Deliver(WatchSource* source, std::string bytes) {
  if (ended_ || call_.cancelled()) return Next::kStop;  // OnCancel stops the others
  if (waiting_.empty() && call_.WriteRaw(rpc::SerializedMessage::Copy(bytes))) return Next::kRead;
  waiting_.emplace_back(source, std::move(bytes));
  if (waiting_.size() == 1) {
    call_.OnWritable([self = shared_from_this()] { self->Drain(); });
  }
  return Next::kWait;
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

void WatchRelay::Ended(WatchSource* source, const Status& status) {
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
