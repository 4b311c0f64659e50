#include "core/rpc/call_base.h"

#include <iterator>

#include "core/rpc/admission.h"

namespace percore::rpc {

CallBase::CallBase(MethodSlot& slot)
    : CallCore(slot.shard()),
      slot_(slot),
      done_tag_{&runtime::OnTag<CallBase, &CallBase::OnDone>, this} {
  slot_.live_objects().Add(1);
  idle_link_.call = this;
  // Before the request is posted (gRPC requires it); the tag only arrives if the call starts.
  context_.AsyncNotifyWhenDone(&done_tag_);
}

CallBase::~CallBase() {
  if (admission_) {
    UnwatchIdle();
    admission_->Release(peer_);
  }
  if (started_) shard().CallEnded();
  slot_.live_objects().Add(-1);
}

bool CallBase::BeginCall() {
  started_ = true;
  Ref();  // the done tag
  runtime::Shard& s = shard();
  s.CallStarted();
  if (s.cq_open()) slot_.PostOne();
  if (s.draining()) {
    FinishWithStatus(Status(StatusCode::kUnavailable, "server is shutting down"));
    return false;
  }
  ShardAdmission& admission = s.Local<ShardAdmission>();
  peer_ = context_.peer();
  grpc::Status verdict =
      admission.Admit(slot_.limits(), {peer_, context_.deadline(), slot_.exempt_from_shedding()});
  if (!verdict.ok()) {
    FinishWithStatus(FromGrpcStatus(verdict));
    return false;
  }
  admission_ = &admission;
  return true;
}

std::string CallBase::peer_certificate_name() const {
  // gRPC's SSL security connector fills x509_common_name from the client certificate it
  // verified (the server requires and checks one with --tls-client-ca); none in plaintext.
  std::shared_ptr<const grpc::AuthContext> auth = context_.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return {};
  std::vector<grpc::string_ref> names = auth->FindPropertyValues("x509_common_name");
  return names.empty() ? std::string() : std::string(names[0].data(), names[0].size());
}

bool CallBase::via_health_listener() const {
  switch (slot_.limits().health_peers) {
    case CallLimits::HealthPeers::kNone:
      return false;
    case CallLimits::HealthPeers::kFdNamed:
      return peer_.starts_with("fd:");
    case CallLimits::HealthPeers::kAddressNamed:
      return !peer_.starts_with("fd:");
  }
  return false;
}

std::optional<std::string_view> CallBase::metadata(std::string_view key) {
  const auto& all = context_.client_metadata();
  auto it = all.find(grpc::string_ref(key.data(), key.size()));
  if (it == all.end()) return std::nullopt;
  return std::string_view(it->second.data(), it->second.size());
}

std::optional<std::string_view> CallBase::metadata_single(std::string_view key, bool* repeated) {
  const auto& all = context_.client_metadata();
  grpc::string_ref wanted(key.data(), key.size());
  auto it = all.lower_bound(wanted);  // the first of equal keys (find may return any of them)
  if (it == all.end() || it->first != wanted) {
    *repeated = false;
    return std::nullopt;
  }
  auto next = std::next(it);  // equal keys are adjacent in the multimap
  *repeated = next != all.end() && next->first == it->first;
  return std::string_view(it->second.data(), it->second.size());
}

void CallBase::WatchIdle() {
  std::chrono::milliseconds timeout = slot_.limits().stream_idle_timeout;
  if (admission_ == nullptr || timeout.count() <= 0 || done() || finish_requested()) return;
  admission_->idle_streams().Watch(idle_link_, timeout);
}

void CallBase::TouchIdle() {
  if (idle_link_.linked) admission_->idle_streams().Touch(idle_link_);
}

void CallBase::UnwatchIdle() {
  if (idle_link_.linked) admission_->idle_streams().Unwatch(idle_link_);
}

void CallBase::EndIdle(std::chrono::milliseconds timeout) {
  if (done()) return;
  Ref();  // ending may complete operations; stay alive until done here
  ended_by_server_ = true;
  Status status(StatusCode::kDeadlineExceeded,
                "stream idle for " + std::to_string(timeout.count()) +
                    " ms: nothing received or sent (server's --stream-idle-timeout)");
  NoteStatus(StatusCode::kDeadlineExceeded);  // what the server meant, even if it must cancel
  if (finish_requested() || write_in_flight()) {
    // The status cannot go out behind a write the client never reads: cancel the stream.
    context_.TryCancel();
  } else {
    EndNow(status);
  }
  Unref();
}

bool CallBase::RejectOversized(const grpc::ByteBuffer& message, bool tell_handler) {
  size_t limit = slot_.limits().max_message_bytes;
  if (message.Length() <= limit) return false;
  NoteStatus(StatusCode::kResourceExhausted);
  if (tell_handler) ended_by_server_ = true;
  FinishWithStatus(
      Status(StatusCode::kResourceExhausted, "message of " + std::to_string(message.Length()) +
                                                 " bytes exceeds the server's limit of " +
                                                 std::to_string(limit) + " bytes"));
  return true;
}

void CallBase::OnDone(bool /*ok*/) {
  UnwatchIdle();
  EndCall(context_.IsCancelled() || ended_by_server_);
  Unref();
}

}  // namespace percore::rpc
