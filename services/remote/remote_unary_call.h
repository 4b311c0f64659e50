#pragma once
// Threading contract: started on a shard thread, on that shard's completion queue; its tag, and
// so `done`, run on the same thread, which is what the client interfaces promise. The shard's
// queue cannot finish draining while the call is pending, so a completion never arrives after
// the shard has gone: at worst it is delivered during the drain, when `done` still runs there.
//
// One unary call to a peer, on gRPC's async client API (a call object per call, its tag the
// object: the CallData shape of gRPC's examples). It joins its shard's in-flight list until it
// completes, so shutdown can cancel it, and counts itself into its shard's grpc_client_*
// counters (core/observe) when it starts and when it completes.

#include <grpcpp/client_context.h>
#include <grpcpp/completion_queue.h>
#include <grpcpp/support/async_unary_call.h>

#include <chrono>
#include <memory>
#include <utility>

#include "core/observe/tracer.h"
#include "core/rpc/grpc_status.h"
#include "core/runtime/completion_tag.h"
#include "services/clients/call_options.h"
#include "services/remote/in_flight_calls.h"
#include "services/remote/remote_peer.h"

namespace percore::remote {

template <class Resp>
class RemoteUnaryCall final : public InFlightCall {
 public:
  // `prepare(context, cq)` returns the stub's PrepareAsync<Method> reader. `peer` is kept alive
  // until the call completes.
  template <class Prepare>
  static void Start(std::shared_ptr<RemotePeer> peer, RemotePeer::ShardState& state,
                    grpc::CompletionQueue* cq, const clients::CallOptions& options,
                    observe::MethodCounters* counters, const observe::MethodLabels* method,
                    clients::Done<Resp> done, Prepare&& prepare) {
    auto* call = new RemoteUnaryCall(std::move(peer), state.calls, counters, std::move(done));
    // Tracing on (core/observe/tracer.h): a client span, child of the ambient context (the
    // server call or saga step that makes this call), its context sent as `traceparent` and
    // the trace's cleaned `tracestate`.
    if (observe::ShardTracer* tracer = observe::ShardTracer::Current(); tracer && method) {
      call->trace_ = std::make_unique<ClientSpan>(ClientSpan{
          tracer, method, observe::CurrentTrace(), tracer->Begin(observe::CurrentTrace())});
      call->context_.AddMetadata("traceparent",
                                 observe::FormatTraceparent(call->trace_->span.context));
      if (const auto& state = call->trace_->span.context.tracestate) {
        call->context_.AddMetadata("tracestate", *state);
      }
    }
    if (counters != nullptr) {
      counters->started.Add();
      counters->msg_sent.Add();  // the request, sent with the call
      call->start_ = std::chrono::steady_clock::now();
    }
    if (options.deadline != std::chrono::system_clock::time_point::max()) {
      call->context_.set_deadline(options.deadline);
    }
    if (options.wait_for_ready) call->context_.set_wait_for_ready(true);
    if (!call->peer_->authorization().empty()) {
      call->context_.AddMetadata("authorization", call->peer_->authorization());
    }
    call->reader_ = prepare(&call->context_, cq);
    call->reader_->StartCall();
    call->reader_->Finish(&call->response_, &call->status_, &call->finish_tag_);
    state.calls.Add(call);
  }

  void Cancel() override { context_.TryCancel(); }

 private:
  RemoteUnaryCall(std::shared_ptr<RemotePeer> peer, InFlightCalls& calls,
                  observe::MethodCounters* counters, clients::Done<Resp> done)
      : peer_(std::move(peer)), calls_(calls), counters_(counters), done_(std::move(done)) {}
  ~RemoteUnaryCall() = default;

  // A unary Finish always completes with ok == true; the outcome is in status_.
  void OnFinish(bool /*ok*/) {
    calls_.Remove(this);
    clients::Done<Resp> done = std::move(done_);
    Status status = rpc::FromGrpcStatus(status_);
    peer_->NoteOutcome(status);  // logs a change of the peer's connectivity, nothing else
    if (counters_ != nullptr) {
      // Counted on this shard, which issued the call: its counters, no other writer.
      if (status.ok()) counters_->msg_received.Add();
      int code = static_cast<int>(status.code());
      counters_->handled[code < observe::kGrpcCodeCount ? code : 2].Add();  // 2: Unknown
      counters_->handling.Observe(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      std::chrono::steady_clock::now() - start_)
                                      .count());
    }
    Resp response = status.ok() ? std::move(response_) : Resp();
    // Keeps the peer alive while `done` runs, though this call object is already gone.
    std::shared_ptr<RemotePeer> peer = std::move(peer_);
    std::unique_ptr<ClientSpan> trace = std::move(trace_);
    delete this;  // first: `done` may start new calls or tear down what it captured
    if (trace) {
      trace->tracer->End(trace->span, observe::SpanKind::kClient, trace->method->service,
                         trace->method->method, static_cast<int>(status.code()));
      // `done` carries on the work that made the call: under that work's context.
      observe::TraceScope scope(trace->caller);
      done(status, std::move(response));
      return;
    }
    done(status, std::move(response));
  }

  struct ClientSpan {
    observe::ShardTracer* tracer;
    const observe::MethodLabels* method;
    observe::TraceContext caller;  // the ambient context when the call started
    observe::OpenSpan span;
  };

  std::shared_ptr<RemotePeer> peer_;
  InFlightCalls& calls_;
  std::unique_ptr<ClientSpan> trace_;  // while traced
  observe::MethodCounters* counters_;  // this shard's grpc_client_* of the method, or nullptr
  std::chrono::steady_clock::time_point start_;
  clients::Done<Resp> done_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Resp>> reader_;
  Resp response_;
  grpc::Status status_;
  runtime::CompletionTag finish_tag_{&runtime::OnTag<RemoteUnaryCall, &RemoteUnaryCall::OnFinish>,
                                     this};
};

}  // namespace percore::remote
