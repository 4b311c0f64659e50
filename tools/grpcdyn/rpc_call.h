#pragma once
// Threading contract: an RpcCall belongs to the thread that polls its completion queue; Start,
// Cancel and every tag run there, and the observer is called there. The stub, queue, path and
// observer must outlive the call in flight. Reusable: after OnDone, NewContext and Start again.
//
// One RPC of any shape (unary, server-, client-, bidi-streaming) over grpc::GenericStub with
// ByteBuffers, driven by completion-queue events: the generic client API needs no generated
// code and costs the caller nothing per message beyond gRPC's own work. Each operation has its
// own tag member. gRPC allows one outstanding read and one outstanding write per stream, so the
// call keeps at most one of each (plus an alarm between writes), and calls Finish only when
// none is outstanding, so Finish's tag is always the call's last event.

#include <grpcpp/alarm.h>
#include <grpcpp/client_context.h>
#include <grpcpp/completion_queue.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "tools/grpcdyn/cq_tag.h"
#include "tools/grpcdyn/method_lookup.h"

namespace percore::grpcdyn {

class RpcCallObserver {
 public:
  // Each message received, in order.
  virtual void OnResponse(const grpc::ByteBuffer& message) = 0;
  // The call's last event; the call may be restarted or destroyed from here.
  virtual void OnDone(const grpc::Status& status) = 0;

 protected:
  ~RpcCallObserver() = default;
};

struct RpcCallOptions {
  CallShape shape = CallShape::kUnary;
  // Messages sent on a client or bidi stream (then the send side is closed); unary and
  // server-streaming calls send exactly one.
  size_t send_count = 1;
  // Pause between two messages of a client or bidi stream.
  std::chrono::nanoseconds send_interval{0};
  // Server streaming: cancel the stream once this many messages arrived and report it OK, for
  // streams that never end on their own (watches); 0 reads until the server ends the stream.
  size_t receive_limit = 0;
};

// Fills in the index-th request message of the call.
using RequestFn = std::function<void(size_t index, grpc::ByteBuffer* out)>;

class RpcCall {
 public:
  RpcCall(grpc::GenericStub& stub, grpc::CompletionQueue& cq);
  RpcCall(const RpcCall&) = delete;
  RpcCall& operator=(const RpcCall&) = delete;

  // A fresh context for the next call: set its deadline and metadata, then Start.
  grpc::ClientContext& NewContext();
  void Start(const std::string& path, const RpcCallOptions& options, RequestFn requests,
             RpcCallObserver* observer);
  // Ends the call early (the observer still gets OnDone, usually with CANCELLED).
  void Cancel();

  grpc::ClientContext& context() { return *context_; }
  size_t messages_sent() const { return sent_; }
  size_t messages_received() const { return received_; }
  uint64_t bytes_received() const { return bytes_received_; }

 private:
  void OnFinish(bool ok);
  void OnStart(bool ok);
  void OnRead(bool ok);
  void OnWrite(bool ok);
  void OnAlarm(bool ok);
  void WriteNext();
  void FinishIfIdle();

  grpc::GenericStub& stub_;
  grpc::CompletionQueue& cq_;
  std::optional<grpc::ClientContext> context_;
  RpcCallOptions options_;
  RequestFn requests_;
  RpcCallObserver* observer_ = nullptr;

  std::unique_ptr<grpc::GenericClientAsyncResponseReader> unary_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> stream_;
  grpc::ByteBuffer write_buffer_;
  grpc::ByteBuffer read_buffer_;
  grpc::Status status_;
  grpc::Alarm alarm_;

  size_t sent_ = 0;
  size_t received_ = 0;
  uint64_t bytes_received_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool writing_message_ = false;  // the outstanding write carries a message (not WritesDone)
  bool half_closing_ = false;     // the outstanding or last write closed the send side
  bool alarm_set_ = false;
  bool reads_done_ = false;
  bool finishing_ = false;
  bool cancelled_by_limit_ = false;

  CqTag finish_tag_{&OnTag<RpcCall, &RpcCall::OnFinish>, this};
  CqTag start_tag_{&OnTag<RpcCall, &RpcCall::OnStart>, this};
  CqTag read_tag_{&OnTag<RpcCall, &RpcCall::OnRead>, this};
  CqTag write_tag_{&OnTag<RpcCall, &RpcCall::OnWrite>, this};
  CqTag alarm_tag_{&OnTag<RpcCall, &RpcCall::OnAlarm>, this};
};

}  // namespace percore::grpcdyn
