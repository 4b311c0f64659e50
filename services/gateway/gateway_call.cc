#include "services/gateway/gateway_call.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <memory>

#include "core/observe/json_text.h"
#include "services/gateway/edge_trace.h"
#include "services/gateway/status_mapping.h"

namespace percore::gateway {

namespace pb = google::protobuf;

std::optional<std::string_view> GatewayCall::metadata(std::string_view key) const {
  for (const auto& [name, value] : spec_.metadata) {
    if (name == key) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<std::string_view> GatewayCall::metadata_single(std::string_view key,
                                                             bool* repeated) const {
  // Two Authorization headers (or one and a Grpc-Metadata-Authorization) are refused by the
  // chain as on gRPC (auth_interceptor.h), so it must see the repeat, not only the first.
  std::optional<std::string_view> first;
  *repeated = false;
  for (const auto& [name, value] : spec_.metadata) {
    if (name != key) continue;
    if (first) {
      *repeated = true;
      break;
    }
    first = value;
  }
  return first;
}

bool GatewayCall::metadata_repeated(std::string_view key) const {
  bool repeated = false;
  metadata_single(key, &repeated);
  return repeated;
}

void GatewayCall::Post(std::function<void()> fn) {
  spec_.server->Post(std::move(fn));  // refused once the HTTP side stopped: nobody to tell
}

void GatewayCall::Resume() {
  paused_ = false;
  if (!read_owed_ || done_) return;
  read_owed_ = false;
  Post([server = spec_.server, id = spec_.exchange] { server->ReadMore(id); });
}

void GatewayCall::AddInitialMetadata(std::string_view key, std::string_view value) {
  if (key == "traceparent") {
    traceparent_.assign(value);
    tracestate_.clear();  // a tracestate belongs to the traceparent it came with
  } else if (key == "tracestate") {
    tracestate_.assign(value);
  }
}

void GatewayCall::SendInitialMetadata() {
  if (spec_.mode != Mode::kWebSocket || !spec_.announce_ready || finished_) return;
  spec_.announce_ready = false;
  ++unsent_;
  Post([server = spec_.server, id = spec_.exchange] { server->SendText(id, "{\"ready\":true}"); });
}

bool GatewayCall::Write(std::string_view message) {
  if (finished_) return false;
  switch (spec_.mode) {
    case Mode::kUnary:
      body_.assign(message);
      return true;
    case Mode::kList:
      if (items_++ > 0) body_.push_back(',');
      body_.append(message);
      return true;
    case Mode::kWebSocket:
      if (unsent_ >= kMaxUnsent) {
        want_writable_ = true;
        return false;
      }
      SendInitialMetadata();  // a first message implies the initial metadata
      ++unsent_;
      Post([server = spec_.server, id = spec_.exchange, text = std::string(message)]() mutable {
        server->SendText(id, std::move(text));
      });
      return true;
  }
  return false;
}

void GatewayCall::AddTrailingMetadata(std::string_view key, std::string_view value) {
  if (key == "next-page-token") next_page_token_.assign(value);
}

void GatewayCall::Encode(const pb::Message& message, std::string& out) const {
  EncodeJson(message, out);
  const Route* route = spec_.route;
  if (spec_.mode != Mode::kUnary || route == nullptr || route->location_field.empty()) return;
  // A create: where the resource is, and whether this answer is a replay of an earlier create
  // (an Idempotency-Key whose order was made before this request arrived: 200, not 201).
  auto* self = const_cast<GatewayCall*>(this);  // Encode is the answer's one pass
  const pb::Descriptor* type = message.GetDescriptor();
  const pb::Reflection* reflection = message.GetReflection();
  if (const pb::FieldDescriptor* field = type->FindFieldByName(std::string(route->location_field));
      field != nullptr && field->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING &&
      !field->is_repeated()) {
    self->location_ = std::string(route->location) + reflection->GetString(message, field);
  }
  if (!spec_.idempotent_create) return;
  const pb::FieldDescriptor* created = type->FindFieldByName("created_at");
  if (created == nullptr || created->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) return;
  const pb::Message& stamp = reflection->GetMessage(message, created);
  const pb::FieldDescriptor* seconds = stamp.GetDescriptor()->FindFieldByName("seconds");
  const pb::FieldDescriptor* nanos = stamp.GetDescriptor()->FindFieldByName("nanos");
  if (seconds == nullptr || nanos == nullptr) return;
  int64_t created_ns = stamp.GetReflection()->GetInt64(stamp, seconds) * 1'000'000'000 +
                       stamp.GetReflection()->GetInt32(stamp, nanos);
  int64_t received_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(spec_.received.time_since_epoch())
          .count();
  self->replayed_ = created_ns < received_ns;
}

void GatewayCall::EncodeSerialized(std::string_view bytes, const pb::Descriptor& type,
                                   std::string& out) const {
  if (spec_.mode != Mode::kUnary || spec_.route == nullptr || spec_.route->location_field.empty()) {
    EncodeJsonFromBinary(bytes, type, out);  // the common path: printed from the bytes
    return;
  }
  // A create needs fields of the answer (Location, created_at): made into the message once.
  const pb::Message* prototype = pb::MessageFactory::generated_factory()->GetPrototype(&type);
  std::unique_ptr<pb::Message> message(prototype->New());
  message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  Encode(*message, out);
}

void GatewayCall::Finish(StatusCode code, std::string_view message) {
  if (finished_) return;
  finished_ = true;
  if (spec_.mode == Mode::kWebSocket) {
    Post([server = spec_.server, id = spec_.exchange, close = CloseCodeOf(code),
          reason = std::string(message)]() mutable {
      server->CloseWebSocket(id, close, std::move(reason));
    });
  } else {
    http::Response response;
    response.content_type = "application/json";
    response.label = spec_.label;
    if (code != StatusCode::kOk) {
      response.status = HttpStatusOf(code);
      response.body = ErrorBody(code, message);
    } else {
      const Route* route = spec_.route;
      response.status = route != nullptr ? route->success_status : 200;
      if (replayed_) response.status = 200;
      if (route != nullptr && route->reply == ReplyShape::kNoContent) {
        response.body.clear();
      } else if (spec_.mode == Mode::kList) {
        response.body.reserve(body_.size() + 64);
        response.body = "{\"";
        response.body.append(route != nullptr ? route->list_field : "items");
        response.body += "\":[";
        response.body += body_;
        response.body += "],\"nextPageToken\":";
        observe::AppendJsonString(next_page_token_, &response.body);
        response.body.push_back('}');
      } else {
        response.body = body_.empty() ? std::string("{}") : std::move(body_);
      }
      if (!location_.empty() && response.status == 201) {
        response.headers.emplace_back("Location", location_);
      }
    }
    if (traceparent_.empty()) {
      AddTraceHeaders(spec_.trace, response);
    } else {
      response.headers.emplace_back("traceparent", std::move(traceparent_));
      if (!tracestate_.empty()) response.headers.emplace_back("tracestate", std::move(tracestate_));
    }
    Post([server = spec_.server, id = spec_.exchange, response = std::move(response)]() mutable {
      server->Respond(id, std::move(response));
    });
  }
  // OnDone in a task of its own: Finish may run inside a handler callback that the call's
  // OnDone would clear.
  Ref();
  bool queued = shard_.Submit([this] {
    DeliverDone();
    Unref();
  });
  if (!queued) {  // the shard is closing (no handler callback runs any more)
    DeliverDone();
    Unref();
  }
}

void GatewayCall::Deliver(std::string_view json) {
  if (done_ || finished_ || sink_ == nullptr) return;
  sink_->OnBytes(json);
  if (spec_.mode != Mode::kWebSocket || done_) return;
  if (paused_) {
    read_owed_ = true;
    return;
  }
  Post([server = spec_.server, id = spec_.exchange] { server->ReadMore(id); });
}

void GatewayCall::HalfClose() {
  if (done_ || sink_ == nullptr) return;
  sink_->OnHalfClose();
}

void GatewayCall::FramesSent(size_t frames) {
  unsent_ -= static_cast<int>(frames);
  if (unsent_ < 0) unsent_ = 0;
  if (!want_writable_ || finished_ || done_ || sink_ == nullptr) return;
  want_writable_ = false;
  sink_->OnWritable();
}

void GatewayCall::ClientGone() {
  if (done_) return;
  if (!finished_) {
    finished_ = true;
    if (sink_ != nullptr) sink_->OnCancel();
  }
  DeliverDone();
}

void GatewayCall::EndForDrain() {
  if (done_ || finished_) return;
  finished_ = true;
  if (sink_ != nullptr) sink_->OnCancel();
  Post([server = spec_.server, id = spec_.exchange] {
    server->CloseWebSocket(id, CloseCodeOf(StatusCode::kUnavailable), "server is shutting down");
  });
  DeliverDone();
}

void GatewayCall::DeliverDone() {
  if (done_) return;
  done_ = true;
  Ref();  // the sink may drop the typed call's reference
  if (rpc::ByteCallSink* sink = std::exchange(sink_, nullptr)) sink->OnDone();
  if (spec_.mode == Mode::kWebSocket) {
    auto& calls = shard_.Local<GatewayCalls>().by_exchange;
    auto it = calls.find(spec_.exchange);
    if (it != calls.end() && it->second == this) {
      calls.erase(it);
      Unref();  // the registry's
    }
  }
  Unref();  // the starter's
  Unref();  // taken above
}

}  // namespace percore::gateway
