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
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "core/cluster/forwarded_mark.h"
#include "core/rpc/grpc_status.h"
#include "core/rpc/server_stream_call.h"
#include "core/runtime/completion_tag.h"
#include "services/cluster/member_call.h"
#include "services/cluster/member_links.h"
#include "services/remote/in_flight_calls.h"

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
  class Source;
  enum class Next { kRead, kWait, kStop };

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

  Next Deliver(std::string bytes) {
    if (ended_ || call_.cancelled()) return Next::kStop;
    if (!waiting_ && call_.WriteRaw(rpc::SerializedMessage::Copy(bytes))) return Next::kRead;
    waiting_ = std::move(bytes);
    call_.OnWritable([self = this->shared_from_this()] { self->Drain(); });
    return Next::kWait;
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

  void Ended(const Status& status, const std::optional<std::string>& next_page_token) {
    source_ = nullptr;
    waiting_.reset();
    if (ended_) return;
    ended_ = true;
    if (next_page_token) call_.AddTrailingMetadata("next-page-token", *next_page_token);
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

// The marked call to the owner. Operations one at a time: start, the request with the
// half-close, the initial metadata, then the reads; any ok == false goes on to the finish.
template <class Req, class Resp>
class OwnerStreamRelay<Req, Resp>::Source final : public remote::InFlightCall {
 public:
  Source(std::shared_ptr<OwnerStreamRelay> relay, remote::InFlightCalls& calls, std::string who)
      : relay_(std::move(relay)), calls_(calls), who_(std::move(who)) {}

  void Start(grpc::GenericStub& stub, grpc::CompletionQueue* cq, std::string path,
             const std::string& request, std::chrono::system_clock::time_point deadline,
             const std::vector<std::pair<std::string, std::string>>& metadata) {
    if (deadline < std::chrono::system_clock::now() + std::chrono::hours(24 * 365)) {
      context_.set_deadline(deadline);
    }
    context_.set_wait_for_ready(false);
    for (const auto& [key, value] : metadata) context_.AddMetadata(key, value);
    grpc::Slice slice(request);
    request_ = grpc::ByteBuffer(&slice, 1);
    stream_ = stub.PrepareCall(&context_, path, cq);
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
  ~Source() = default;

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
    switch (relay_->Deliver(std::move(bytes))) {
      case Next::kRead:
        return ReadNext();
      case Next::kWait:
        return;  // the relay calls ReadNext() or Stop()
      case Next::kStop:
        return Stop();
    }
  }
  void Finish() { stream_->Finish(&status_, &finish_tag_); }
  void OnFinish(bool /*ok*/) {
    calls_.Remove(this);
    Status status = rpc::FromGrpcStatus(status_);
    if (status.code() == StatusCode::kUnavailable) {
      status = Status(status.code(), who_ + " is unavailable: " + status.message());
    }
    std::optional<std::string> token;
    if (status.ok()) {
      const auto& trailing = context_.GetServerTrailingMetadata();
      if (auto it = trailing.find("next-page-token"); it != trailing.end()) {
        token.emplace(it->second.data(), it->second.size());
      }
    }
    std::shared_ptr<OwnerStreamRelay> relay = std::move(relay_);
    relay->Ended(status, token);
    delete this;
  }

  std::shared_ptr<OwnerStreamRelay> relay_;
  remote::InFlightCalls& calls_;
  std::string who_;
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> stream_;
  grpc::ByteBuffer response_;
  grpc::Status status_;
  runtime::CompletionTag start_tag_{&runtime::OnTag<Source, &Source::OnStart>, this};
  runtime::CompletionTag write_tag_{&runtime::OnTag<Source, &Source::OnWrite>, this};
  runtime::CompletionTag metadata_tag_{&runtime::OnTag<Source, &Source::OnMetadata>, this};
  runtime::CompletionTag read_tag_{&runtime::OnTag<Source, &Source::OnRead>, this};
  runtime::CompletionTag finish_tag_{&runtime::OnTag<Source, &Source::OnFinish>, this};
};

}  // namespace percore::cluster
