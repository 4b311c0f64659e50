#include "tools/load/native_call.h"

#include <nghttp2/nghttp2.h>

#include <charconv>

#include "core/net/grpc_wire.h"

namespace percore::load {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// gRPC's HTTP-to-status mapping (doc/http-grpc-status-mapping.md), used when a response has
// no grpc-status.
grpc::StatusCode FromHttpStatus(int http) {
  switch (http) {
    case 400:
      return grpc::StatusCode::INTERNAL;
    case 401:
      return grpc::StatusCode::UNAUTHENTICATED;
    case 403:
      return grpc::StatusCode::PERMISSION_DENIED;
    case 404:
      return grpc::StatusCode::UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return grpc::StatusCode::UNAVAILABLE;
    default:
      return grpc::StatusCode::UNKNOWN;
  }
}

}  // namespace

std::string PercentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(in[i]);
  }
  return out;
}

void NativeCall::Reset(size_t receive_limit) {
  receive_limit_ = receive_limit;
  http_status_ = 0;
  grpc_status_.reset();
  grpc_message_.clear();
  limit_reached_ = false;
  prefix_have_ = 0;
  message_length_ = message_left_ = 0;
  received_ = bytes_received_ = 0;
  status_ = grpc::Status();
}

void NativeCall::set_in_flight(NativeConnection* connection, int32_t stream_id) {
  connection_ = connection;
  stream_id_ = stream_id;
  in_flight_ = true;
}

void NativeCall::OnHeader(std::string_view name, std::string_view value) {
  if (name == ":status") {
    std::from_chars(value.data(), value.data() + value.size(), http_status_);
  } else if (name == "grpc-status") {
    int code = 0;
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), code);
    grpc_status_ = error == std::errc() && end == value.data() + value.size()
                       ? code
                       : static_cast<int>(grpc::StatusCode::UNKNOWN);
  } else if (name == "grpc-message") {
    grpc_message_ = PercentDecode(value);
  }
}

bool NativeCall::OnData(const uint8_t* data, size_t length) {
  while (length > 0) {
    if (prefix_have_ < 5) {
      size_t take = std::min(length, 5 - prefix_have_);
      std::copy(data, data + take, prefix_ + prefix_have_);
      prefix_have_ += take;
      data += take;
      length -= take;
      if (prefix_have_ < 5) break;
      message_length_ = message_left_ = net::ReadPrefix(prefix_).length;
    } else {
      size_t take = std::min<size_t>(length, message_left_);
      message_left_ -= static_cast<uint32_t>(take);
      data += take;
      length -= take;
    }
    if (prefix_have_ == 5 && message_left_ == 0) {
      ++received_;
      bytes_received_ += message_length_;
      prefix_have_ = 0;
      if (receive_limit_ > 0 && received_ >= receive_limit_) {
        limit_reached_ = true;
        return true;
      }
    }
  }
  return false;
}

void NativeCall::OnStreamClose(uint32_t h2_error) {
  if (grpc_status_) {
    return Done(grpc::Status(static_cast<grpc::StatusCode>(*grpc_status_), grpc_message_));
  }
  if (limit_reached_) return Done(grpc::Status::OK);
  if (http_status_ != 0 && http_status_ != 200) {
    return Done(grpc::Status(FromHttpStatus(http_status_),
                             "Received http2 header with status: " + std::to_string(http_status_)));
  }
  switch (h2_error) {
    case NGHTTP2_REFUSED_STREAM:
      return Done(grpc::Status(grpc::StatusCode::UNAVAILABLE, "Stream refused by the server"));
    case NGHTTP2_CANCEL:
      return Done(grpc::Status(grpc::StatusCode::CANCELLED, "Cancelled"));
    case NGHTTP2_NO_ERROR:
      return Done(grpc::Status(grpc::StatusCode::UNKNOWN, "Stream ended without grpc-status"));
    default:
      return Done(grpc::Status(grpc::StatusCode::INTERNAL,
                               "Received RST_STREAM with error code " + std::to_string(h2_error)));
  }
}

void NativeCall::Finish(grpc::StatusCode code, std::string message) {
  Done(grpc::Status(code, std::move(message)));
}

void NativeCall::Done(grpc::Status status) {
  in_flight_ = false;
  connection_ = nullptr;
  stream_id_ = -1;
  status_ = std::move(status);
  observer_->OnCallDone();
}

}  // namespace percore::load
