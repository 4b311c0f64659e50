#pragma once
// Threading contract: started on a shard thread; everything runs on that shard's thread: the
// GatewayCall's events (it is the call's sink) and the gRPC completions (the call is made on
// the shard's own completion queue, whose tags complete on the shard). Refcounts without
// atomics. Listed in the peer's in-flight calls of its shard until the gRPC call completes, so
// shutdown (RemotePeer::Close) can cancel it; a completion queue finishes draining only once
// the call has completed, so no completion arrives after the shard has gone.
//
// One gateway call to a service that is a --peer (not hosted here): the GatewayCall is
// forwarded over the peer's channel of this shard as a generic gRPC stream
// (grpc::GenericStub), so every call shape (unary, server stream, bidi chat) takes the same
// path. JSON is made into the method's request message with the call's codec (the same
// Decode as for a hosted method: 400 naming the field), serialized, and sent; each answer's
// bytes are printed as JSON (EncodeSerialized) and written to the GatewayCall. The caller's
// deadline, `authorization` and `Grpc-Metadata-*` cross, and its trace context: a
// `traceparent` that parses and the cleaned `tracestate` (core/observe), never the raw header;
// the peer's `next-page-token` trailer comes back (lists). Like services/remote's calls, it
// counts into the peer's grpc_client_* on this shard (started and messages sent as they go,
// handled by code, messages received and the handling time) and, when the shard traces, is a
// client span whose context the peer gets (a child of the request's traceparent, else a root). One
// gRPC write in flight; a client message waits (the call is paused) until the previous one is
// written; an answer the GatewayCall cannot take yet (a slow WebSocket reader) stops reading from
// the peer until OnWritable, so the peer's own backpressure (its watcher backlog) applies.
//
// Lifetime: one reference for the sink link (dropped at OnDone), one per gRPC operation in
// flight; deleted at zero. It holds one reference on the GatewayCall until OnDone.

#include <google/protobuf/descriptor.h>
#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/observe/tracer.h"
#include "core/rpc/byte_call.h"
#include "core/runtime/completion_tag.h"
#include "services/remote/in_flight_calls.h"
#include "services/remote/remote_peer.h"

namespace percore::gateway {

// Registers every method of `peer`'s service (its grpc_client_* series at zero, ids by the
// methods' descriptor order). At start-up, before the peer's metrics Start.
void RegisterPeerMethods(remote::RemotePeer& peer);

class PeerCall final : public rpc::ByteCallSink, public remote::InFlightCall {
 public:
  // Forwards `call` (its codec the JSON one) to `peer` as `method` ("/pkg.Service/Method");
  // `metadata` is what crosses (lower-case keys). Finishes `call` UNAVAILABLE at once when the
  // shard is shutting down.
  static void Start(rpc::ByteCall& call, std::shared_ptr<remote::RemotePeer> peer,
                    const std::string& method, const google::protobuf::MethodDescriptor& type,
                    const std::vector<std::pair<std::string, std::string>>& metadata);

  // rpc::ByteCallSink (the GatewayCall's events).
  void OnBytes(std::string_view message) override;
  void OnHalfClose() override;
  void OnCancel() override;
  void OnWritable() override;
  void OnDone() override;

  // remote::InFlightCall (shutdown).
  void Cancel() override { context_.TryCancel(); }

 private:
  PeerCall(rpc::ByteCall& call, std::shared_ptr<remote::RemotePeer> peer,
           remote::InFlightCalls& calls, const google::protobuf::MethodDescriptor& type);
  ~PeerCall() = default;

  void Ref() { ++refs_; }
  void Unref() {
    if (--refs_ == 0) delete this;
  }
  void OnStarted(bool ok);
  void OnInitialMetadata(bool ok);
  void OnRead(bool ok);
  void OnWritten(bool ok);
  void OnWritesDone(bool ok);
  void OnFinished(bool ok);
  void PumpWrites();
  void ReadNext();
  void StartFinish();
  // Adds `metadata` to the call, its trace context as above (a client span when traced).
  void AddMetadata(const std::vector<std::pair<std::string, std::string>>& metadata);
  // Hands `answer_` (JSON) to the call; false while it cannot take it (OnWritable follows).
  bool DeliverAnswer();

  rpc::ByteCall* call_;  // nullptr once OnDone came
  std::shared_ptr<remote::RemotePeer> peer_;
  remote::InFlightCalls& calls_;
  const google::protobuf::Descriptor& request_type_;
  const google::protobuf::Descriptor& response_type_;
  int refs_ = 1;  // the sink link's
  grpc::ClientContext context_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> stream_;
  std::deque<std::string> unsent_;  // serialized requests waiting for the write in flight
  bool started_ = false;
  bool writing_ = false;
  bool half_close_wanted_ = false;
  bool half_closed_ = false;
  bool metadata_read_ = false;
  bool reading_ = false;
  bool held_ = false;  // answer_ waits for OnWritable
  bool finishing_ = false;
  grpc::ByteBuffer in_;
  grpc::ByteBuffer out_;
  std::string answer_;
  grpc::Status status_;
  observe::MethodCounters* counters_ = nullptr;  // this shard's grpc_client_*, or nullptr
  std::chrono::steady_clock::time_point start_;
  const google::protobuf::MethodDescriptor& type_;
  observe::ShardTracer* tracer_ = nullptr;  // set while the call is traced
  observe::OpenSpan span_;
  runtime::CompletionTag start_tag_{&runtime::OnTag<PeerCall, &PeerCall::OnStarted>, this};
  runtime::CompletionTag metadata_tag_{&runtime::OnTag<PeerCall, &PeerCall::OnInitialMetadata>,
                                       this};
  runtime::CompletionTag read_tag_{&runtime::OnTag<PeerCall, &PeerCall::OnRead>, this};
  runtime::CompletionTag write_tag_{&runtime::OnTag<PeerCall, &PeerCall::OnWritten>, this};
  runtime::CompletionTag writes_done_tag_{&runtime::OnTag<PeerCall, &PeerCall::OnWritesDone>, this};
  runtime::CompletionTag finish_tag_{&runtime::OnTag<PeerCall, &PeerCall::OnFinished>, this};
};

}  // namespace percore::gateway
