#include "services/gateway/peer_call.h"

#include <google/protobuf/message.h>

#include "core/observe/trace_state.h"
#include "core/rpc/grpc_status.h"
#include "core/runtime/shard.h"

namespace percore::gateway {

namespace pb = google::protobuf;

PeerCall::PeerCall(rpc::ByteCall& call, std::shared_ptr<remote::RemotePeer> peer,
                   remote::InFlightCalls& calls, const pb::MethodDescriptor& type)
    : call_(&call),
      peer_(std::move(peer)),
      calls_(calls),
      request_type_(*type.input_type()),
      response_type_(*type.output_type()),
      type_(type) {}

namespace {

const char* GrpcType(const pb::MethodDescriptor& type) {
  if (type.client_streaming()) return type.server_streaming() ? "bidi_stream" : "client_stream";
  return type.server_streaming() ? "server_stream" : "unary";
}

}  // namespace

void RegisterPeerMethods(remote::RemotePeer& peer) {
  const pb::ServiceDescriptor* service =
      pb::DescriptorPool::generated_pool()->FindServiceByName(peer.service());
  for (int i = 0; service != nullptr && i < service->method_count(); ++i) {
    const pb::MethodDescriptor& method = *service->method(i);
    peer.metrics().Register(peer.service(), method.name(), GrpcType(method));
  }
}

void PeerCall::AddMetadata(const std::vector<std::pair<std::string, std::string>>& metadata) {
  observe::TraceContext parent;
  std::string_view state;
  for (const auto& [key, value] : metadata) {
    if (key == "traceparent") {
      parent = observe::ParseTraceparent(value).value_or(observe::TraceContext());
    } else if (key == "tracestate") {
      state = value;
    } else {
      context_.AddMetadata(key, value);
    }
  }
  if (parent.valid() && !state.empty()) parent.tracestate = observe::TracestateFrom(state);
  tracer_ = observe::ShardTracer::Current();
  if (tracer_ != nullptr) {
    span_ = tracer_->Begin(parent);
    // The HTTP answer names this span, as a hosted method's answer names its server span.
    call_->AddInitialMetadata("traceparent", observe::FormatTraceparent(span_.context));
    if (span_.context.tracestate) {
      call_->AddInitialMetadata("tracestate", *span_.context.tracestate);
    }
  }
  const observe::TraceContext& sent = tracer_ != nullptr ? span_.context : parent;
  if (!sent.valid()) return;  // untraced and no valid context from the client: none sent
  context_.AddMetadata("traceparent", observe::FormatTraceparent(sent));
  if (sent.tracestate) context_.AddMetadata("tracestate", *sent.tracestate);
}

void PeerCall::Start(rpc::ByteCall& call, std::shared_ptr<remote::RemotePeer> peer,
                     const std::string& method, const pb::MethodDescriptor& type,
                     const std::vector<std::pair<std::string, std::string>>& metadata) {
  runtime::Shard* shard = runtime::Shard::Current();
  remote::RemotePeer::ShardState& state = peer->ForShard(*shard);
  // A closing shard may start no gRPC operation on its queue (gRPC asserts).
  if (state.closed || !shard->cq_open()) {
    call.Finish(StatusCode::kUnavailable,
                peer->service() + " is not reachable: this server is shutting down");
    return;
  }
  // As admission answers for a hosted method (core/rpc/admission.cc): gRPC would start a call
  // whose deadline has passed, and a fast peer could even answer it.
  if (call.deadline() <= std::chrono::system_clock::now()) {
    call.Finish(StatusCode::kDeadlineExceeded, "deadline passed before the call could start");
    return;
  }
  auto* self = new PeerCall(call, peer, state.calls, type);
  call.Ref();  // until OnDone
  call.SetSink(self);
  if (call.deadline() != std::chrono::system_clock::time_point::max()) {
    self->context_.set_deadline(call.deadline());
  }
  self->AddMetadata(metadata);
  // grpc_client_*: the ids are the methods' descriptor order (RegisterPeerMethods).
  observe::GrpcClientMetrics& metrics = peer->metrics();
  size_t id = static_cast<size_t>(type.index());
  if (id < metrics.methods() && metrics.labels(id).method == type.name()) {
    self->counters_ = metrics.counters(shard->id(), id);
  }
  if (self->counters_ != nullptr) {
    self->counters_->started.Add();
    self->start_ = std::chrono::steady_clock::now();
  }
  grpc::GenericStub stub(state.channel);
  self->stream_ = stub.PrepareCall(&self->context_, method, shard->cq());
  self->Ref();
  self->stream_->StartCall(&self->start_tag_);
  state.calls.Add(self);
}

void PeerCall::OnBytes(std::string_view message) {
  if (call_ == nullptr || finishing_) return;
  Ref();  // Finish below may deliver OnDone at once (a closing shard)
  std::unique_ptr<pb::Message> request(
      pb::MessageFactory::generated_factory()->GetPrototype(&request_type_)->New());
  Status decoded = call_->codec()->Decode(message, *request);
  if (!decoded.ok()) {  // the same answer as a hosted method's: 400 naming the field
    call_->Finish(decoded.code(), decoded.message());
    context_.TryCancel();
  } else {
    unsent_.push_back(request->SerializeAsString());
    // The next client message once this one is written: one write in flight, none queued.
    if (writing_ || !started_) call_->Pause();
    PumpWrites();
  }
  Unref();
}

void PeerCall::OnHalfClose() {
  half_close_wanted_ = true;
  PumpWrites();
}

void PeerCall::OnCancel() { context_.TryCancel(); }

void PeerCall::OnWritable() {
  if (!held_ || call_ == nullptr) return;
  if (DeliverAnswer()) ReadNext();
}

void PeerCall::OnDone() {
  rpc::ByteCall* call = std::exchange(call_, nullptr);
  if (!finishing_) {
    context_.TryCancel();
    // Reading drives the call to its end: restart it if it waited for the client.
    if (held_) {
      held_ = false;
      ReadNext();
    }
  }
  call->Unref();
  Unref();  // the sink link's
}

void PeerCall::PumpWrites() {
  if (!started_ || writing_ || half_closed_ || finishing_) return;
  if (!unsent_.empty()) {
    grpc::Slice slice(std::move(unsent_.front()));
    unsent_.pop_front();
    out_ = grpc::ByteBuffer(&slice, 1);
    writing_ = true;
    Ref();
    stream_->Write(out_, &write_tag_);
    return;
  }
  if (call_ != nullptr) call_->Resume();
  if (half_close_wanted_) {
    half_closed_ = true;
    Ref();
    stream_->WritesDone(&writes_done_tag_);
  }
}

void PeerCall::OnStarted(bool ok) {
  started_ = true;
  if (!ok) {  // no call: its status says why
    StartFinish();
  } else {
    Ref();
    stream_->ReadInitialMetadata(&metadata_tag_);
    PumpWrites();
  }
  Unref();
}

void PeerCall::OnInitialMetadata(bool ok) {
  metadata_read_ = true;
  if (ok && call_ != nullptr) call_->SendInitialMetadata();
  ReadNext();  // fails at once when the call is over
  Unref();
}

void PeerCall::ReadNext() {
  if (reading_ || finishing_ || held_ || !metadata_read_) return;
  reading_ = true;
  Ref();
  stream_->Read(&in_, &read_tag_);
}

void PeerCall::OnRead(bool ok) {
  reading_ = false;
  if (!ok) {  // the peer ended the call (or it failed): its status next
    StartFinish();
    Unref();
    return;
  }
  if (counters_ != nullptr) counters_->msg_received.Add();
  if (call_ != nullptr) {
    grpc::Slice slice;
    if (in_.TrySingleSlice(&slice).ok() || in_.DumpToSingleSlice(&slice).ok()) {
      call_->codec()->EncodeSerialized(
          std::string_view(reinterpret_cast<const char*>(slice.begin()), slice.size()),
          response_type_, answer_);
    }
    in_.Clear();
    if (!DeliverAnswer()) {  // OnWritable (or OnDone) resumes reading
      Unref();
      return;
    }
  }
  ReadNext();
  Unref();
}

bool PeerCall::DeliverAnswer() {
  if (call_->Write(answer_)) {
    held_ = false;
    return true;
  }
  held_ = true;
  call_->RequestWritable();
  return false;
}

void PeerCall::OnWritten(bool ok) {
  writing_ = false;
  if (ok && counters_ != nullptr) counters_->msg_sent.Add();
  if (ok) PumpWrites();  // otherwise the call is over: reading tells how
  Unref();
}

void PeerCall::OnWritesDone(bool) { Unref(); }

void PeerCall::StartFinish() {
  if (finishing_) return;
  finishing_ = true;
  Ref();
  stream_->Finish(&status_, &finish_tag_);
}

void PeerCall::OnFinished(bool) {
  calls_.Remove(this);
  Status status = rpc::FromGrpcStatus(status_);
  peer_->NoteOutcome(status);  // logs a change of the peer's connectivity, nothing else
  int code = static_cast<int>(status.code());
  if (counters_ != nullptr) {  // on this shard, which issued the call: no other writer
    counters_->handled[code < observe::kGrpcCodeCount ? code : 2].Add();  // 2: Unknown
    counters_->handling.Observe(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::steady_clock::now() - start_)
                                    .count());
  }
  if (tracer_ != nullptr) {
    tracer_->End(span_, observe::SpanKind::kClient, type_.service()->full_name(), type_.name(),
                 code);
  }
  if (call_ != nullptr) {
    for (const auto& [key, value] : context_.GetServerTrailingMetadata()) {
      if (key == "next-page-token") {
        call_->AddTrailingMetadata("next-page-token", std::string_view(value.data(), value.size()));
      }
    }
    call_->Finish(status.code(), status.message());
  }
  Unref();
}

}  // namespace percore::gateway
