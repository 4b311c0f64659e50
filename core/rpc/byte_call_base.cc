#include "core/rpc/byte_call_base.h"

#include <string>
#include <utility>

#include "core/rpc/admission.h"
#include "core/rpc/grpc_status.h"
#include "core/rpc/method_slot.h"

namespace percore::rpc {

ByteCallBase::ByteCallBase(runtime::Shard& shard, ByteCall& bytes, const MethodEntry& entry,
                           const CallLimits& limits, bool single_response, bool reads)
    : CallCore(shard),
      bytes_(bytes),
      entry_(entry),
      codec_(bytes.codec()),
      limits_(limits),
      single_response_(single_response),
      reads_(reads),
      live_(shard.Local<LiveCallObjects>()) {
  idle_link_.call = this;
  Ref();  // the transport's own, until OnDone
  bytes_.Ref();
  bytes_.SetSink(this);
  shard.CallStarted();
  live_.Add(1);
}

ByteCallBase::~ByteCallBase() {
  if (admission_ != nullptr) {
    UnwatchIdle();
    admission_->Release(peer_);
  }
  bytes_.Unref();
  shard().CallEnded();
  live_.Add(-1);
}

bool ByteCallBase::Admit() {
  runtime::Shard& s = shard();
  if (s.draining()) {
    FinishWithStatus(Status(StatusCode::kUnavailable, "server is shutting down"));
    return false;
  }
  ShardAdmission& admission = s.Local<ShardAdmission>();
  peer_ = std::string(bytes_.peer());
  grpc::Status verdict =
      admission.Admit(limits_, {peer_, bytes_.deadline(), entry_.exempt_from_shedding()});
  if (!verdict.ok()) {
    FinishWithStatus(FromGrpcStatus(verdict));
    return false;
  }
  admission_ = &admission;
  return true;
}

void ByteCallBase::WatchIdle() {
  std::chrono::milliseconds timeout = limits_.stream_idle_timeout;
  if (admission_ == nullptr || timeout.count() <= 0 || over_ || finish_requested_ || reads_done_) {
    return;
  }
  admission_->idle_streams().Watch(idle_link_, timeout);
}

void ByteCallBase::TouchLinked() { admission_->idle_streams().Touch(idle_link_); }

void ByteCallBase::UnwatchIdle() {
  if (idle_link_.linked) admission_->idle_streams().Unwatch(idle_link_);
}

void ByteCallBase::EndIdle(std::chrono::milliseconds timeout) {
  if (over_) return;
  Ref();  // ending delivers OnCancel, which may drop the handler's references
  ended_by_server_ = true;
  finish_requested_ = true;
  NoteStatus(StatusCode::kDeadlineExceeded);  // what the server meant, even if it must reset
  bytes_.EndNow(StatusCode::kDeadlineExceeded,
                "stream idle for " + std::to_string(timeout.count()) +
                    " ms: nothing received or sent (server's --stream-idle-timeout)");
  Unref();
}

void ByteCallBase::AddInitialMetadata(const std::string& key, const std::string& value) {
  bytes_.AddInitialMetadata(key, value);
}

void ByteCallBase::AddTrailingMetadata(const std::string& key, const std::string& value) {
  if (!over_) bytes_.AddTrailingMetadata(key, value);
}

void ByteCallBase::FinishWithStatus(const Status& status) {
  if (single_response_) {
    FinishSingle(status);
  } else {
    FinishStream(status);
  }
}

bool ByteCallBase::Answer(std::string_view bytes) {
  if (finish_requested_) return false;
  finish_requested_ = true;
  if (bytes_.Write(bytes)) bytes_.Finish(StatusCode::kOk, {});
  return true;
}

bool ByteCallBase::FinishSingle(const Status& status) {
  if (status.ok()) return Answer({});
  if (finish_requested_) return false;
  finish_requested_ = true;
  bytes_.Finish(status.code(), status.message());
  return true;
}

bool ByteCallBase::WriteBytes(std::string_view bytes) {
  if (finish_requested_ || over_) return false;
  if (!bytes_.Write(bytes)) {
    want_writable_ = true;
    return false;
  }
  TouchIdle();
  return true;
}

void ByteCallBase::SetOnWritable(std::function<void()> fn) {
  if (finish_requested_ || over_) return;
  on_writable_ = std::move(fn);
  if (!bytes_.writable()) {
    want_writable_ = true;
    bytes_.RequestWritable();
  }
}

bool ByteCallBase::FinishStream(const Status& status) {
  if (finish_requested_ || over_) return false;
  finish_requested_ = true;
  bytes_.Finish(status.code(), status.message());
  return true;
}

void ByteCallBase::ResumeReading() {
  paused_ = false;
  if (resume_scheduled_ || over_) return;
  resume_scheduled_ = true;
  Ref();  // the task's
  bool queued = shard().Submit([this] {
    resume_scheduled_ = false;
    if (!over_ && !paused_) bytes_.Resume();
    Unref();
  });
  if (!queued) {  // the shard is closing: nothing more will be read
    resume_scheduled_ = false;
    Unref();
  }
}

void ByteCallBase::OnBytes(std::string_view message) {
  if (finish_requested_ || over_) return;
  if (reads_) {
    TouchIdle();
    OnReadBytes(message);
    return;
  }
  if (request_seen_) {
    FinishWithStatus(Status(StatusCode::kInternal,
                            method_name() + " takes one request message; the client sent more"));
    return;
  }
  request_seen_ = true;
  OnRequest(message);
}

void ByteCallBase::OnHalfClose() {
  if (!reads_) {
    if (!request_seen_ && !finish_requested_ && !over_) {
      FinishWithStatus(Status(StatusCode::kInternal,
                              method_name() + " needs a request message; the client sent none"));
    }
    return;
  }
  reads_done_ = true;
  UnwatchIdle();  // half-closed: from now on the client waits for the server
  if (over_) return;
  if (auto fn = std::exchange(on_reads_done_, nullptr)) fn();
}

void ByteCallBase::OnCancel() {
  if (over_) return;
  over_ = true;
  UnwatchIdle();
  EndCall(true);
}

void ByteCallBase::OnWritable() {
  if (!want_writable_ || over_ || finish_requested_) return;
  want_writable_ = false;
  if (on_writable_) {
    std::function<void()> fn = on_writable_;  // it may replace itself
    fn();
  }
}

void ByteCallBase::OnDone() {
  UnwatchIdle();
  if (!over_) {
    over_ = true;
    EndCall(ended_by_server_);
  }
  Unref();  // the transport's own
}

void ByteCallBase::ClearCallbacks() {
  auto writable = std::exchange(on_writable_, nullptr);
  auto done = std::exchange(on_reads_done_, nullptr);
}

}  // namespace percore::rpc
