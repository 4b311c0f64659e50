#pragma once
// Threading contract: a call object lives on the shard its transport delivered it to; every
// member is used only on that shard's thread. Handles (UnaryCall, ServerStream, ...) may be moved
// anywhere but copied and destroyed only on that shard (Runtime::Hop keeps them there).
//
// What every call has whatever transport carries it (libgrpc's completion queues in
// call_base.h; percore's own HTTP/2 transport; an in-process test transport): the shard, the
// reference count, cancellation, and the virtual faces of what a gRPC transport can tell or do
// (metadata, deadline, peer, initial/trailing metadata, ending the call with a status). It names
// no libgrpc type, so handlers and the method table (method_table.h) compile without libgrpc.
//
// The lifetime rule: the object holds one reference per handler handle and one per piece of
// work the transport still owes it (libgrpc: one per outstanding completion-queue tag), starts
// with one (the transport's own, dropped when it has delivered the call), and deletes itself
// when the count reaches zero, so it is freed exactly once on every path. When the last handle
// goes without an answer, the call answers INTERNAL itself, so a buggy handler cannot leave a
// client waiting.
//
// Metrics (core/observe/grpc_server_metrics.h), the same for every transport: MethodEntry::Invoke
// calls BeginMetrics when the handler starts (started, the request message of a unary or
// server-streaming call, the start time); the handles note the status the server answers with
// and the messages they hand over (handle_methods.h); the end is recorded once, when the
// transport ends the call (EndCall) or, failing that, when the object is freed: handled by
// code and the handling time. A call that ends with no status noted was cancelled
// (DeadlineExceeded once its deadline passed or when the cancel came just before it, within a
// slack for the request's transit: cancel_code.h; else Canceled) or ended by the transport
// itself (Unknown). All of it on the call's shard, into that shard's counters.
//
// Tracing (core/observe/tracer.h), when the shard traces (--trace-log): MethodEntry::Invoke
// begins the call's server span (BeginSpan: a child of the client's `traceparent`, or a new
// trace), which is ambient while the handler runs (so the calls it makes to peers are its
// children) and is sent back in the initial metadata (with the cleaned `tracestate`); it ends
// with the metrics' end, same code.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/auth/principal.h"
#include "core/base/status.h"
#include "core/observe/grpc_server_metrics.h"
#include "core/observe/trace_state.h"
#include "core/observe/tracer.h"
#include "core/rpc/cancel_code.h"

namespace percore::runtime {
class Shard;
}

namespace percore::rpc {

class CallCore {
 public:
  explicit CallCore(runtime::Shard& shard) : shard_(shard) {}
  virtual ~CallCore() { EndMetrics(/*cancelled=*/false, /*deadline_passed=*/false); }
  CallCore(const CallCore&) = delete;
  CallCore& operator=(const CallCore&) = delete;

  runtime::Shard& shard() const { return shard_; }
  // True once the client cancelled, the deadline passed or the connection dropped.
  bool cancelled() const { return cancelled_; }
  // Runs once, on this shard, when the call is cancelled (never after a normal finish).
  // Ignored once the call is over.
  void OnCancel(std::function<void()> fn) {
    if (!done_) on_cancel_ = std::move(fn);
  }

  // The first value the client sent under `key` (keys are lower-case; "-bin" ones decoded),
  // valid while the call lives.
  virtual std::optional<std::string_view> metadata(std::string_view key) = 0;
  // True when the client sent `key` more than once (the auth chain refuses two authorization
  // headers rather than pick one). A transport that cannot carry a key twice keeps the default.
  virtual bool metadata_repeated(std::string_view /*key*/) { return false; }
  // Both in one pass (the auth chain's read on every call): the first value of `key`, and in
  // `*repeated` whether the client sent it more than once.
  virtual std::optional<std::string_view> metadata_single(std::string_view key, bool* repeated) {
    *repeated = metadata_repeated(key);
    return metadata(key);
  }
  // The client's deadline (time_point::max() when it set none).
  virtual std::chrono::system_clock::time_point deadline() const = 0;
  // The client's address as the transport names it ("ipv4:127.0.0.1:5000").
  virtual std::string peer() const = 0;
  // Before the initial metadata goes out (the first write, SendInitialMetadata or the finish).
  virtual void AddInitialMetadata(const std::string& key, const std::string& value) = 0;
  // Before the call is finished.
  virtual void AddTrailingMetadata(const std::string& key, const std::string& value) = 0;
  // The shape's way to end the call with a status and no message (queued messages of a stream
  // still go first).
  virtual void FinishWithStatus(const Status& status) = 0;
  // True once the handler (or the framework) has started to end the call.
  virtual bool finish_requested() const = 0;
  // The method's name for error messages ("GetUser").
  virtual std::string method_name() const = 0;
  // True when the call came in through the --health-listen port, which serves grpc.health.v1
  // only (health_listener_interceptor.h answers anything else UNIMPLEMENTED).
  virtual bool via_health_listener() const { return false; }
  // Mutual TLS: the common name of the client certificate the transport verified (the server's
  // --tls-client-ca); "" without one. For the service identities of auth_interceptor.h.
  virtual std::string peer_certificate_name() const { return {}; }

  // The caller the auth interceptor verified (call_interceptor.h), or nullptr when auth is off or
  // the method is open. Services read it for owner checks.
  const auth::Principal* principal() const { return principal_.get(); }
  void set_principal(std::shared_ptr<const auth::Principal> principal) {
    principal_ = std::move(principal);
  }

  void Ref() { ++refs_; }
  void Unref() {
    if (--refs_ == 0) delete this;
  }
  // Metrics hooks (see the top of this file); no-ops for a call without counters.
  void BeginMetrics(observe::MethodCounters* counters, bool request_received) {
    if (counters == nullptr) return;
    metrics_ = counters;
    metrics_->started.Add();
    if (request_received) metrics_->msg_received.Add();
    metrics_start_ = std::chrono::steady_clock::now();
  }
  // The first status the server answers with is the one counted.
  void NoteStatus(StatusCode code) {
    if (metrics_code_ < 0) metrics_code_ = static_cast<int>(code);
  }
  // Begins the call's server span on `tracer` (this shard's) for the method at `path`
  // ("/pkg.Service/Method", which outlives the call); returns its context, for the handler to run
  // under. A malformed `traceparent` is ignored: the call starts a new trace (and drops any
  // tracestate).
  const observe::TraceContext& BeginSpan(observe::ShardTracer& tracer, std::string_view path) {
    observe::TraceContext parent;
    if (std::optional<std::string_view> value = metadata("traceparent")) {
      parent = observe::ParseTraceparent(*value).value_or(observe::TraceContext());
    }
    // W3C: a tracestate is read only beside a valid traceparent; kept cleaned (trace_state.h).
    std::optional<std::string_view> state = metadata("tracestate");
    if (state && parent.valid()) parent.tracestate = observe::TracestateFrom(*state);
    span_ = std::make_unique<ServerSpan>();
    span_->tracer = &tracer;
    span_->span = tracer.Begin(parent);
    size_t slash = path.rfind('/');
    span_->service =
        path.substr(path.empty() ? 0 : 1, slash == std::string_view::npos ? 0 : slash - 1);
    span_->method = slash == std::string_view::npos ? path : path.substr(slash + 1);
    AddInitialMetadata("traceparent", observe::FormatTraceparent(span_->span.context));
    if (span_->span.context.tracestate) {
      AddInitialMetadata("tracestate", *span_->span.context.tracestate);
    }
    return span_->span.context;
  }
  void NoteMessageSent() {
    if (metrics_ != nullptr) metrics_->msg_sent.Add();
  }
  void NoteMessageReceived() {
    if (metrics_ != nullptr) metrics_->msg_received.Add();
  }

  void RefHandle() {
    ++handles_;
    Ref();
  }
  void UnrefHandle() {
    if (--handles_ == 0 && !finish_requested()) {
      NoteStatus(StatusCode::kInternal);
      FinishWithStatus(
          Status(StatusCode::kInternal, "the handler of " + method_name() + " did not answer"));
    }
    Unref();
  }

 protected:
  // The transport, once the call is over for it (answered, cancelled or broken): from now on
  // OnCancel is ignored; if `cancelled`, the handler's OnCancel runs. Then ClearCallbacks()
  // drops the handler's callbacks, which breaks handle cycles (a callback that captured its own
  // call's handle).
  void EndCall(bool cancelled) {
    done_ = true;
    cancelled_ = cancelled;
    if (metrics_ != nullptr || span_) {
      // A cancel at or just before the deadline is the deadline's (cancel_code.h); the clocks
      // are read only for a cancelled call.
      bool deadline_passed = false;
      if (cancelled) {
        const std::chrono::nanoseconds elapsed =
            metrics_ != nullptr ? std::chrono::steady_clock::now() - metrics_start_
                                : std::chrono::nanoseconds(0);  // unknown: only a passed deadline
        deadline_passed = CancelCode(deadline(), std::chrono::system_clock::now(), elapsed) ==
                          StatusCode::kDeadlineExceeded;
      }
      EndMetrics(cancelled, deadline_passed);
    }
    if (cancelled_ && on_cancel_) {
      std::function<void()> fn = std::move(on_cancel_);
      fn();
    }
    on_cancel_ = nullptr;
    ClearCallbacks();
  }
  virtual void ClearCallbacks() {}
  bool done() const { return done_; }

 private:
  void EndMetrics(bool cancelled, bool deadline_passed) {
    if (metrics_ == nullptr && !span_) return;
    int code = metrics_code_;
    if (code < 0) {
      code = static_cast<int>(!cancelled        ? StatusCode::kUnknown
                              : deadline_passed ? StatusCode::kDeadlineExceeded
                                                : StatusCode::kCancelled);
    }
    if (metrics_ != nullptr) {
      metrics_->handled[code].Add();
      metrics_->handling.Observe(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now() - metrics_start_)
                                     .count());
      metrics_ = nullptr;  // recorded once
    }
    if (span_) {
      span_->tracer->End(span_->span, observe::SpanKind::kServer, span_->service, span_->method,
                         code);
      span_.reset();  // recorded once
    }
  }

  struct ServerSpan {
    observe::ShardTracer* tracer;
    observe::OpenSpan span;
    std::string_view service;
    std::string_view method;
  };

  runtime::Shard& shard_;
  int refs_ = 1;  // the transport's own, until it has delivered the call
  int handles_ = 0;
  bool done_ = false;
  bool cancelled_ = false;
  std::function<void()> on_cancel_;
  std::shared_ptr<const auth::Principal> principal_;
  observe::MethodCounters* metrics_ = nullptr;  // set while the call is counted
  int metrics_code_ = -1;                       // the status noted, -1 before one is
  std::chrono::steady_clock::time_point metrics_start_;
  std::unique_ptr<ServerSpan> span_;  // while the call is traced
};

// A counted handle to a call object.
template <class Core>
class CallRef {
 public:
  CallRef() = default;
  explicit CallRef(Core* core) : core_(core) {
    if (core_) core_->RefHandle();
  }
  CallRef(const CallRef& other) : CallRef(other.core_) {}
  CallRef(CallRef&& other) noexcept : core_(std::exchange(other.core_, nullptr)) {}
  CallRef& operator=(CallRef other) noexcept {
    std::swap(core_, other.core_);
    return *this;
  }
  ~CallRef() {
    if (core_) core_->UnrefHandle();
  }
  Core* get() const { return core_; }
  Core* operator->() const { return core_; }
  Core& operator*() const { return *core_; }
  explicit operator bool() const { return core_ != nullptr; }

 private:
  Core* core_ = nullptr;
};

}  // namespace percore::rpc
