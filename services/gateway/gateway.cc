#include "services/gateway/gateway.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/base/uuid.h"
#include "core/net/grpc_wire.h"
#include "core/runtime/shard_for.h"
#include "services/gateway/peer_call.h"
#include "services/gateway/request_params.h"
#include "services/gateway/status_mapping.h"

namespace percore::gateway {

namespace pb = google::protobuf;

namespace {

http::Response JsonError(int http_status, StatusCode code, std::string_view message) {
  return http::Response{http_status, "application/json", ErrorBody(code, message), {}};
}

http::Response ErrorFor(int http_status, std::string_view message) {
  return JsonError(http_status, CodeOfHttpStatus(http_status), message);
}

void Answer(http::Server& server, http::ExchangeId id, int label, http::Response response,
            const observe::TraceContext& trace) {
  response.label = label;
  AddTraceHeaders(trace, response);
  server.Respond(id, std::move(response));
}

}  // namespace

Gateway::Gateway(runtime::Runtime& runtime, const rpc::ServerHost& host, rpc::CallLimits limits,
                 GatewayOptions options)
    : runtime_(runtime), host_(host), limits_(limits), options_(std::move(options)) {
  for (const std::string& name : host.service_names()) hosted_.insert(name);
}

Gateway::~Gateway() { Stop(); }

void Gateway::LoadStaticFiles() {
  if (options_.web_root.empty()) return;
  const std::pair<const char*, const char*> files[] = {
      {"index.html", "text/html; charset=utf-8"},
      {"app.js", "text/javascript; charset=utf-8"},
      {"style.css", "text/css; charset=utf-8"},
  };
  for (const auto& [name, type] : files) {
    std::ifstream in(options_.web_root + "/" + name, std::ios::binary);
    if (!in) continue;
    std::ostringstream content;
    content << in.rdbuf();
    files_[std::string("/").append(name)] = StaticFile{type, content.str()};
  }
  if (auto it = files_.find("/index.html"); it != files_.end()) files_["/"] = it->second;
}

bool Gateway::Start(std::string* error) {
  LoadStaticFiles();
  http::ServerOptions http;
  http.listen = options_.listen;
  http.max_header_bytes = options_.max_header_bytes;
  http.max_body_bytes = options_.max_body_bytes;
  http.max_request_bytes = options_.max_header_bytes + options_.max_body_bytes;
  http.read_timeout = options_.read_timeout;
  http.idle_timeout = options_.idle_timeout;
  http.max_connections = options_.max_connections;
  http.max_websocket_message_bytes = options_.max_websocket_message_bytes;
  http.flag = "--http";
  http.error_response = [](int status, std::string_view message) {
    return ErrorFor(status, message);
  };
  // The HTTP layer's own answers and the WebSocket handshake name a trace too (io thread).
  http.on_own_answer = [this](const http::Request& request, http::Response& response) {
    AddTraceHeaders(edge_trace_.For(request.header("traceparent"), request.header("tracestate")),
                    response);
  };
  if (HttpMetrics* metrics = options_.metrics) {
    http.on_response = [metrics](int label, std::string_view method, int status,
                                 std::chrono::nanoseconds elapsed) {
      metrics->Count(label, method, status, elapsed);
    };
  }
  server_ = std::make_unique<http::Server>(
      std::move(http),
      [this](http::Server& server, http::ExchangeId id, http::Request&& request) {
        OnRequest(server, id, std::move(request));
      },
      this);
  if (!server_->Listen(error)) {
    server_.reset();
    return false;
  }
  if (options_.tls != nullptr) server_->SetTlsContext(options_.tls);
  server_->Start();
  return true;
}

void Gateway::BeginDrain() {
  if (!server_) return;
  server_->BeginDrain();
  runtime_.RunOnAll([](runtime::Shard& shard) {
    auto& calls = shard.Local<GatewayCalls>().by_exchange;
    std::vector<GatewayCall*> open;
    for (auto& [id, call] : calls) open.push_back(call);
    for (GatewayCall* call : open) {
      call->Ref();
      call->EndForDrain();
      call->Unref();
    }
  });
}

void Gateway::Stop() {
  if (server_) server_->Stop();
}

namespace {

// "pkg.Service" of "/pkg.Service/Method" ("" when it is not that shape).
std::string ServiceOf(std::string_view method_path) {
  size_t slash = method_path.find('/', 1);
  if (slash == std::string_view::npos) return std::string();
  return std::string(method_path.substr(1, slash - 1));
}

}  // namespace

bool Gateway::Reachable(std::string_view method_path) const {
  std::string service = ServiceOf(method_path);
  return hosted_.count(service) > 0 || options_.peers.count(service) > 0;
}

const std::shared_ptr<remote::RemotePeer>* Gateway::PeerOf(std::string_view method_path) const {
  std::string service = ServiceOf(method_path);
  if (hosted_.count(service) > 0) return nullptr;
  auto it = options_.peers.find(service);
  return it == options_.peers.end() ? nullptr : &it->second;
}

runtime::ShardId Gateway::PickShard(ShardKey key, std::string_view value) {
  size_t shards = runtime_.size();
  if (key == ShardKey::kText && !value.empty()) return runtime::ShardFor(value, shards);
  if (key == ShardKey::kUuid) {
    if (std::optional<Uuid> id = Uuid::Parse(value)) return runtime::ShardFor(id->view(), shards);
  }
  return static_cast<runtime::ShardId>(next_shard_++ % shards);
}

void Gateway::FillSpec(const http::Request& request, CallSpec& spec) const {
  spec.server = server_.get();
  spec.peer = request.peer;
  spec.peer_certificate_name = request.peer_certificate_name;
  spec.received = request.received;
  for (const auto& [name, value] : request.headers) {
    if (name == "authorization" || name == "traceparent" || name == "tracestate") {
      spec.metadata.emplace_back(name, value);
    } else if (name.size() > 14 && name.compare(0, 14, "grpc-metadata-") == 0) {
      spec.metadata.emplace_back(name.substr(14), value);
    }
  }
}

void Gateway::StartCall(runtime::ShardId shard, std::string method, CallSpec spec, std::string body,
                        bool one_request) {
  http::Server* server = server_.get();
  http::ExchangeId exchange = spec.exchange;
  bool websocket = spec.mode == Mode::kWebSocket;
  int label = spec.label;
  observe::TraceContext trace = spec.trace;
  const std::shared_ptr<remote::RemotePeer>* peer = PeerOf(method);
  bool queued =
      runtime_.shard(shard).Submit([this, method = std::move(method), spec = std::move(spec),
                                    body = std::move(body), one_request, peer]() mutable {
        runtime::Shard& here = *runtime::Shard::Current();
        auto* call = new GatewayCall(here, std::move(spec));
        const rpc::MethodEntry* entry = peer ? nullptr : host_.methods(here.id()).Find(method);
        const pb::MethodDescriptor* type = nullptr;
        if (peer != nullptr) {
          std::string full = method.substr(1);
          full[full.find('/')] = '.';
          type = pb::DescriptorPool::generated_pool()->FindMethodByName(full);
        }
        if (entry == nullptr && type == nullptr) {
          call->Finish(StatusCode::kUnimplemented, "no hosted method " + method);
          return;
        }
        if (call->spec_mode() == Mode::kWebSocket) {
          call->Ref();  // the registry's
          here.Local<GatewayCalls>().by_exchange[call->exchange()] = call;
        }
        call->Ref();  // while starting: the call may be over before this returns
        if (entry != nullptr) {
          entry->StartBytes(*call, limits_);
        } else {  // a --peer's: forwarded over its channel of this shard
          PeerCall::Start(*call, *peer, method, *type, call->metadata_list());
        }
        if (one_request) {
          call->Deliver(body);
          call->HalfClose();
        }
        call->Unref();
      });
  if (!queued) {
    server->Post([server, exchange, websocket, label, trace] {
      if (websocket) {
        server->CloseWebSocket(exchange, CloseCodeOf(StatusCode::kUnavailable),
                               "server is shutting down");
      } else {
        Answer(*server, exchange, label, ErrorFor(503, "server is shutting down"), trace);
      }
    });
  }
}

void Gateway::OnRequest(http::Server& server, http::ExchangeId id, http::Request&& request) {
  std::string_view path = request.path();
  // The trace context the answer names unless a call's span does (edge_trace.h).
  observe::TraceContext trace =
      edge_trace_.For(request.header("traceparent"), request.header("tracestate"));
  // The web page.
  if ((request.method == "GET" || request.method == "HEAD") && path.substr(0, 4) != "/v1/") {
    if (auto it = files_.find(std::string(path)); it != files_.end()) {
      http::Response response{200, it->second.content_type, it->second.body, {}};
      response.headers.emplace_back("Cache-Control", "no-cache");
      int label = options_.metrics ? options_.metrics->static_label(request.method) : -1;
      return Answer(server, id, label, std::move(response), trace);
    }
  }
  RouteMatch match = Match(request.method, path);
  const Route* route = match.route;
  std::string method;
  // The answer's metrics series (http_metrics.h): the route's, the generic route's, or none.
  int label = route != nullptr ? HttpMetrics::RouteLabel(*route) : -1;
  if (route != nullptr) {
    method = std::string(route->method);
  } else if (!match.allow.empty()) {
    http::Response response =
        ErrorFor(405, "method " + request.method + " not allowed on " + std::string(path) +
                          "; allowed: " + std::string(match.allow));
    response.headers.emplace_back("Allow", std::string(match.allow));
    return Answer(server, id, label, std::move(response), trace);
  } else {
    // POST /{package.Service}/{Method}: any hosted unary method.
    size_t slash = path.find('/', 1);
    bool generic = path.size() > 1 && slash != std::string_view::npos &&
                   path.substr(1, slash).find('.') != std::string_view::npos &&
                   path.find('/', slash + 1) == std::string_view::npos && slash + 1 < path.size();
    const pb::MethodDescriptor* descriptor = nullptr;
    if (generic) {
      std::string full(path.substr(1));
      full[slash - 1] = '.';
      descriptor = pb::DescriptorPool::generated_pool()->FindMethodByName(full);
    }
    if (descriptor != nullptr && options_.metrics) label = options_.metrics->generic_label();
    if (descriptor == nullptr) {
      return Answer(server, id, label,
                    ErrorFor(404, "no route for " + request.method + " " + std::string(path)),
                    trace);
    }
    if (request.method != "POST") {
      http::Response response =
          ErrorFor(405, "method " + request.method + " not allowed on " + std::string(path));
      response.headers.emplace_back("Allow", "POST");
      return Answer(server, id, label, std::move(response), trace);
    }
    if (descriptor->client_streaming() || descriptor->server_streaming()) {
      return Answer(
          server, id, label,
          ErrorFor(501, std::string(path.substr(1)) + " streams; over HTTP only unary methods are "
                                                      "mapped (streams: the WebSocket routes)"),
          trace);
    }
    method = std::string(path);
  }
  if (!Reachable(method)) {
    return Answer(server, id, label,
                  ErrorFor(503, "service " + method.substr(1, method.find('/', 1) - 1) +
                                    " is not hosted by this process and is not a --peer of it"),
                  trace);
  }
  bool takes_body = route == nullptr || route->body;
  if (!request.body.empty()) {
    if (!takes_body) {
      return Answer(
          server, id, label,
          ErrorFor(400, request.method + " " + std::string(path) + " takes no request body"),
          trace);
    }
    if (!IsJson(request.header("content-type"))) {
      return Answer(
          server, id, label,
          ErrorFor(415, "the request body must be application/json, not \"" +
                            std::string(request.header("content-type").value_or("")) + "\""),
          trace);
    }
  }
  CallSpec spec;
  spec.route = route;
  spec.exchange = id;
  spec.mode = route != nullptr && route->reply == ReplyShape::kList ? Mode::kList : Mode::kUnary;
  std::chrono::nanoseconds timeout;
  std::string error;
  if (!RequestTimeout(request, options_.call_timeout, &timeout, &error)) {
    return Answer(server, id, label, ErrorFor(400, error), trace);
  }
  spec.deadline =
      request.received + std::chrono::duration_cast<std::chrono::system_clock::duration>(timeout);
  spec.label = label;
  spec.trace = trace;
  FillSpec(request, spec);
  std::string_view shard_key_value;
  if (route != nullptr) {
    for (int i = 0; i < match.param_count; ++i) {
      spec.params.emplace_back(std::string(match.params[i].field),
                               std::string(match.params[i].value));
    }
    if (match.param_count > 0) shard_key_value = match.params[0].value;
    if (!route->idempotency_field.empty()) {
      if (auto key = request.header("idempotency-key")) {
        spec.params.emplace_back(std::string(route->idempotency_field), std::string(*key));
        spec.idempotent_create = true;
      }
    }
  }
  if (!ParseQuery(request.query(), spec.params, &error)) {
    return Answer(server, id, label, ErrorFor(400, error), trace);
  }
  runtime::ShardId shard =
      PickShard(route != nullptr ? route->shard_key : ShardKey::kAny, shard_key_value);
  StartCall(shard, std::move(method), std::move(spec), std::move(request.body), true);
}

}  // namespace percore::gateway
