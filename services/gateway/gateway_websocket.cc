// The gateway's WebSocket routes (/v1/orders/stream, /v1/users/stream, /v1/support/chat): a
// socket opened becomes a streaming call on the shard that owns its key, and its frames, close
// and drained sends are handed to that call (gateway_call.h) on its shard.
#include "services/gateway/gateway.h"
#include "services/gateway/request_params.h"
#include "services/gateway/status_mapping.h"

namespace percore::gateway {
namespace {

constexpr std::string_view kOrderStream = "/v1/orders/stream";
constexpr std::string_view kUserStream = "/v1/users/stream";
constexpr std::string_view kChat = "/v1/support/chat";

}  // namespace

bool Gateway::Accepts(std::string_view path) const {
  return path == kOrderStream || path == kUserStream || path == kChat;
}

void Gateway::OnOpen(http::Server& server, http::ExchangeId id, http::Request&& request) {
  std::string_view path = request.path();
  CallSpec spec;
  spec.mode = Mode::kWebSocket;
  spec.exchange = id;
  FillSpec(request, spec);
  std::string method;
  bool reads_client = false;
  ShardKey key = ShardKey::kAny;
  if (path == kOrderStream) {
    method = "/order.v1.OrderService/WatchOrderUpdates";
    key = ShardKey::kUuid;
  } else if (path == kUserStream) {
    method = "/user.v1.UserService/WatchUserUpdates";
    key = ShardKey::kUuid;
  } else {
    method = "/order.v1.OrderService/ChatSession";
    reads_client = true;
  }
  std::string error;
  if (!ParseQuery(request.query(), spec.params, &error, "ready")) {
    return server.CloseWebSocket(id, CloseCodeOf(StatusCode::kInvalidArgument), error);
  }
  spec.announce_ready = request.query().find("ready=") != std::string_view::npos;
  spec.reads_client = reads_client;
  if (!Reachable(method)) {
    return server.CloseWebSocket(id, CloseCodeOf(StatusCode::kUnavailable),
                                 "service not hosted by this process and not a --peer of it");
  }
  std::string_view key_value;
  for (const auto& [name, value] : spec.params) {
    if (name == "user_id" || name == "order_id" || name == "userId" || name == "orderId") {
      key_value = value;
    }
  }
  if (options_.metrics) {  // the upgrade, 101 (not timed: a socket's life is no latency)
    options_.metrics->Count(options_.metrics->WebSocketLabel(path), "GET", 101,
                            std::chrono::nanoseconds(-1));
  }
  runtime::ShardId shard = PickShard(key, key_value);
  sockets_[id] = Socket{shard, reads_client};
  server.ReadMore(id);  // client frames: chat messages, or a close to notice
  StartCall(shard, std::move(method), std::move(spec), std::string(), !reads_client);
}

void Gateway::OnText(http::Server& server, http::ExchangeId id, std::string&& text) {
  auto it = sockets_.find(id);
  if (it == sockets_.end()) return;
  if (!it->second.reads_client) {  // a watch takes no messages: ignored
    server.ReadMore(id);
    return;
  }
  runtime_.shard(it->second.shard).Submit([id, text = std::move(text)] {
    auto& calls = runtime::Shard::Current()->Local<GatewayCalls>().by_exchange;
    if (auto call = calls.find(id); call != calls.end()) call->second->Deliver(text);
  });
}

void Gateway::OnClosed(http::Server&, http::ExchangeId id) {
  auto it = sockets_.find(id);
  if (it == sockets_.end()) return;
  runtime::ShardId shard = it->second.shard;
  sockets_.erase(it);
  runtime_.shard(shard).Submit([id] {
    auto& calls = runtime::Shard::Current()->Local<GatewayCalls>().by_exchange;
    if (auto call = calls.find(id); call != calls.end()) call->second->ClientGone();
  });
}

void Gateway::OnDrained(http::Server&, http::ExchangeId id, size_t frames) {
  auto it = sockets_.find(id);
  if (it == sockets_.end()) return;
  runtime_.shard(it->second.shard).Submit([id, frames] {
    auto& calls = runtime::Shard::Current()->Local<GatewayCalls>().by_exchange;
    if (auto call = calls.find(id); call != calls.end()) call->second->FramesSent(frames);
  });
}

}  // namespace percore::gateway