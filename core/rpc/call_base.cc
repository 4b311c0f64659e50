#include "core/rpc/call_base.h"

#include <cstdio>

namespace percore::rpc {

std::atomic<int64_t> CallBase::live_objects_{0};

CallBase::CallBase(MethodSlot& slot)
    : slot_(slot), done_tag_{&runtime::OnTag<CallBase, &CallBase::OnDone>, this} {
  live_objects_.fetch_add(1, std::memory_order_relaxed);
  // Before the request is posted (gRPC requires it); the tag only arrives if the call starts.
  context_.AsyncNotifyWhenDone(&done_tag_);
}

CallBase::~CallBase() {
  if (started_) shard().CallEnded();
  live_objects_.fetch_sub(1, std::memory_order_relaxed);
}

bool CallBase::BeginCall() {
  started_ = true;
  Ref();  // the done tag
  runtime::Shard& s = shard();
  s.CallStarted();
  if (s.cq_open()) slot_.PostOne();
  if (s.draining()) {
    FinishWithStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down"));
    return false;
  }
  if (s.live_calls() > slot_.limits().max_calls_per_shard) {
    FinishWithStatus(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                  "server overloaded: too many calls in flight"));
    return false;
  }
  return true;
}

bool CallBase::RejectOversized(const grpc::ByteBuffer& message) {
  size_t limit = slot_.limits().max_message_bytes;
  if (message.Length() <= limit) return false;
  FinishWithStatus(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                "message of " + std::to_string(message.Length()) +
                                    " bytes exceeds the server's limit of " +
                                    std::to_string(limit) + " bytes"));
  return true;
}

void CallBase::UnrefHandle() {
  if (--handles_ == 0 && !finish_requested()) {
    FinishWithStatus(grpc::Status(grpc::StatusCode::INTERNAL,
                                  "the handler of " + slot_.method_name() + " did not answer"));
  }
  Unref();
}

void CallBase::OnDone(bool /*ok*/) {
  done_ = true;
  cancelled_ = context_.IsCancelled();
  if (cancelled_ && on_cancel_) {
    std::function<void()> fn = std::move(on_cancel_);
    fn();
  }
  on_cancel_ = nullptr;
  ClearCallbacks();
  Unref();
}

void CallBase::LogException(const char* what) {
  std::fprintf(stderr, "percore: handler of %s/%s threw: %s\n", slot_.service().full_name().c_str(),
               slot_.method_name().c_str(), what);
}

}  // namespace percore::rpc
