#pragma once
// Threading contract: started on a shard thread, on that shard's completion queue; every tag, and
// so every call into the relay, runs on the same thread. Listed in the shard's in-flight calls
// until it finishes (shutdown cancels it).
//
// One marked server-streaming call to another member, read message by message for a relay that
// passes the messages on to a client's stream (stream_relay.h: one source for a stream another
// partition owns, one per partition for a fan-in). Operations one at a time: start, the
// request with the half-close, the initial metadata, then the reads; any ok == false goes on to
// the finish, which always completes: the relay hears Ended exactly once, then the source deletes
// itself. The relay paces the reads (backpressure): after Deliver says kWait it calls ReadNext()
// when its client has room, or Stop().
//
// A Relay provides:
//   void Registered();  // the member answered with its initial metadata (its watch is set up)
//   StreamNext Deliver(MemberStreamSource<Relay>* source, std::string bytes);
//   void Ended(MemberStreamSource<Relay>* source, const Status& status,
//              const grpc::ClientContext& context);  // context: the member's trailing metadata

#include <grpcpp/client_context.h>
#include <grpcpp/completion_queue.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/rpc/grpc_status.h"
#include "core/runtime/completion_tag.h"
#include "services/remote/in_flight_calls.h"

namespace percore::cluster {

// What a source does after delivering a message: read the next one, wait for the relay to call
// ReadNext() or Stop(), or stop now (the client's stream is over).
enum class StreamNext { kRead, kWait, kStop };

template <class Relay>
class MemberStreamSource final : public remote::InFlightCall {
 public:
  MemberStreamSource(std::shared_ptr<Relay> relay, remote::InFlightCalls& calls, std::string who)
      : relay_(std::move(relay)), calls_(calls), who_(std::move(who)) {}

  // `deadline`: the client's (none past a year from now); `metadata`: what the member gets,
  // the forwarded mark included.
  void Start(grpc::GenericStub& stub, grpc::CompletionQueue* cq, const std::string& path,
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
  // For a source with no operation in flight (after kWait): cancelled and finished now.
  void Stop() {
    context_.TryCancel();
    Finish();
  }
  // "partition I (address)", for the relay's messages.
  const std::string& who() const { return who_; }

 private:
  ~MemberStreamSource() = default;

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
      case StreamNext::kRead:
        return ReadNext();
      case StreamNext::kWait:
        return;  // the relay calls ReadNext() or Stop()
      case StreamNext::kStop:
        return Stop();
    }
  }
  void Finish() { stream_->Finish(&status_, &finish_tag_); }
  void OnFinish(bool /*ok*/) {
    calls_.Remove(this);
    std::shared_ptr<Relay> relay = std::move(relay_);
    relay->Ended(this, rpc::FromGrpcStatus(status_), context_);
    delete this;
  }

  using Self = MemberStreamSource;
  std::shared_ptr<Relay> relay_;
  remote::InFlightCalls& calls_;
  std::string who_;
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> stream_;
  grpc::ByteBuffer response_;
  grpc::Status status_;
  runtime::CompletionTag start_tag_{&runtime::OnTag<Self, &Self::OnStart>, this};
  runtime::CompletionTag write_tag_{&runtime::OnTag<Self, &Self::OnWrite>, this};
  runtime::CompletionTag metadata_tag_{&runtime::OnTag<Self, &Self::OnMetadata>, this};
  runtime::CompletionTag read_tag_{&runtime::OnTag<Self, &Self::OnRead>, this};
  runtime::CompletionTag finish_tag_{&runtime::OnTag<Self, &Self::OnFinish>, this};
};

}  // namespace percore::cluster
