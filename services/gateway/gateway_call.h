#pragma once
// Threading contract: a GatewayCall lives on the shard it was started on and is used only on
// that shard's thread (refcounts without atomics). What it sends to the HTTP side goes through
// http::Server::Post (lock-free); what the HTTP side sends it arrives as shard tasks.
//
// One gRPC call made by the HTTP gateway, in process: a rpc::ByteCall whose messages are JSON
// (it is the call's MessageCodec), started through the shard's method table like any
// transport's call (MethodEntry::StartBytes), so admission, the interceptor chain (JWT auth and
// the access policy), metrics and drain apply as for gRPC clients. The typed call object parses
// the JSON straight into the handler's request message and hands each answer message to
// Encode: no gRPC hop and no serialize-then-parse of percore's own. (protobuf 3.21's JSON
// mapping works through the binary form inside JsonStringToMessage / MessageToJsonString, so
// stored rows, already binary, are printed straight from their bytes: EncodeSerialized.)
//
// Three ways an answer goes back (Mode): one HTTP response for a unary call; a server stream
// collected into one response (lists); WebSocket text frames, one per message, then a close
// frame with the status (streams, chat). Toward a WebSocket, at most kMaxUnsent frames are in
// flight (the HTTP side acknowledges when its queue empties): a stream that cannot write is
// held back like a slow gRPC client (a watch then ends RESOURCE_EXHAUSTED behind its backlog).
// Client messages (chat) are taken one at a time: the HTTP side reads the next frame when this
// call asks (after each message, unless the handler paused reading).
//
// An HTTP answer names its trace context in `traceparent`/`tracestate` headers: the call's span
// when it ran under one (kept from AddInitialMetadata), else the edge's (edge_trace.h).
//
// Lifetime: one reference held by whoever started it until OnDone is delivered (deferred to a
// task so no handler callback is re-entered), one held by the typed call. WebSocket calls are
// also in the shard's GatewayCalls registry (by exchange id) until the socket closes or the
// call ends.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/http/http_server.h"
#include "core/observe/trace_context.h"
#include "core/rpc/byte_call.h"
#include "core/runtime/shard.h"
#include "services/gateway/json_codec.h"
#include "services/gateway/routes.h"

namespace percore::gateway {

enum class Mode { kUnary, kList, kWebSocket };

struct CallSpec {
  Mode mode = Mode::kUnary;
  const Route* route = nullptr;  // REST routes: status, Location, list name; nullptr: generic
  http::Server* server = nullptr;
  http::ExchangeId exchange = 0;
  std::vector<std::pair<std::string, std::string>> metadata;  // lower-case keys
  Params params;  // path and query parameters, set on the request after its JSON
  std::string peer;
  // HTTPS: the verified client certificate's common name (http::Request's), which
  // --tls-service-identity maps to the `service` role as on gRPC (core/rpc/auth_interceptor.h).
  std::string peer_certificate_name;
  std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max();
  std::chrono::system_clock::time_point received;
  bool idempotent_create = false;  // an Idempotency-Key came: a replay answers 200
  bool announce_ready = false;     // WebSocket: a {"ready":true} frame at initial metadata
  bool reads_client = false;       // WebSocket: client frames are the call's messages (bidi)
  int label = -1;                  // the answer's http::Response::label (HttpMetrics)
  // The edge's trace context (edge_trace.h): what the answer names when no span of the call does.
  observe::TraceContext trace;
};

class GatewayCall final : public rpc::ByteCall, public rpc::MessageCodec {
 public:
  static constexpr int kMaxUnsent = 32;

  GatewayCall(runtime::Shard& shard, CallSpec spec) : shard_(shard), spec_(std::move(spec)) {}

  // rpc::ByteCall.
  void Ref() override { ++refs_; }
  void Unref() override {
    if (--refs_ == 0) delete this;
  }
  void SetSink(rpc::ByteCallSink* sink) override { sink_ = sink; }
  std::optional<std::string_view> metadata(std::string_view key) const override;
  // A header may come twice over HTTP (or as Authorization and Grpc-Metadata-Authorization).
  bool metadata_repeated(std::string_view key) const override;
  std::optional<std::string_view> metadata_single(std::string_view key,
                                                  bool* repeated) const override;
  std::chrono::system_clock::time_point deadline() const override { return spec_.deadline; }
  std::string_view peer() const override { return spec_.peer; }
  std::string_view peer_certificate_name() const override { return spec_.peer_certificate_name; }
  void Pause() override { paused_ = true; }
  void Resume() override;
  // Keeps `traceparent`/`tracestate` (the call's span: CallCore::BeginSpan for a hosted method,
  // PeerCall's client span) for the HTTP answer's headers; other keys have no HTTP form here.
  void AddInitialMetadata(std::string_view key, std::string_view value) override;
  void SendInitialMetadata() override;
  bool Write(std::string_view message) override;
  bool writable() const override { return !finished_ && unsent_ < kMaxUnsent; }
  void RequestWritable() override { want_writable_ = true; }
  void AddTrailingMetadata(std::string_view key, std::string_view value) override;
  void Finish(StatusCode code, std::string_view message) override;
  // The idle-stream sweeper's end: nothing is queued here that a reset would have to pass, so
  // it is a finish (a WebSocket is closed with the status after its queued frames).
  void EndNow(StatusCode code, std::string_view message) override { Finish(code, message); }
  const rpc::MessageCodec* codec() const override { return this; }

  // rpc::MessageCodec.
  Status Decode(std::string_view encoded, google::protobuf::Message& message) const override {
    return DecodeJson(encoded, spec_.params, message);
  }
  void Encode(const google::protobuf::Message& message, std::string& out) const override;
  void EncodeSerialized(std::string_view bytes, const google::protobuf::Descriptor& type,
                        std::string& out) const override;

  // Events from the HTTP side (shard tasks).
  // The request body (or one chat message): delivered to the typed call.
  void Deliver(std::string_view json);
  void HalfClose();
  // The WebSocket's queue emptied: `frames` more left.
  void FramesSent(size_t frames);
  // The client went away (WebSocket closed, or the server stopped): cancels a running call.
  void ClientGone();
  // Shutdown began: a WebSocket call is cancelled and its socket closed with UNAVAILABLE.
  void EndForDrain();
  bool over() const { return done_; }
  Mode spec_mode() const { return spec_.mode; }
  // The metadata that crosses to a --peer (lower-case keys).
  const std::vector<std::pair<std::string, std::string>>& metadata_list() const {
    return spec_.metadata;
  }
  http::ExchangeId exchange() const { return spec_.exchange; }

 private:
  ~GatewayCall() = default;
  void Post(std::function<void()> fn);
  void DeliverDone();

  runtime::Shard& shard_;
  CallSpec spec_;
  int refs_ = 1;  // the starter's, until OnDone
  rpc::ByteCallSink* sink_ = nullptr;
  bool paused_ = false;
  bool read_owed_ = false;  // a client message was taken while paused: ask for the next later
  bool finished_ = false;
  bool done_ = false;
  bool want_writable_ = false;
  int unsent_ = 0;
  // kUnary: the answer; kList: the collected messages.
  std::string body_;
  size_t items_ = 0;
  std::string next_page_token_;
  // Set by Encode for a unary answer of a create route.
  std::string location_;
  bool replayed_ = false;
  // The span the call ran under, as sent back in gRPC's initial metadata ("" : none).
  std::string traceparent_;
  std::string tracestate_;
};

// The WebSocket calls of one shard by exchange id (Shard::Local).
struct GatewayCalls {
  explicit GatewayCalls(runtime::Shard&) {}
  std::unordered_map<http::ExchangeId, GatewayCall*> by_exchange;  // each holds a reference
};

}  // namespace percore::gateway
