// Stream: the request side (headers, messages in, flow control) and the call's life; the
// response side is in stream_send.cc.
#include "core/net/stream.h"

#include <nghttp2/nghttp2.h>
#include <strings.h>

#include <algorithm>
#include <cstring>

#include "core/net/connection.h"
#include "core/net/dispatcher.h"
#include "core/net/grpc_wire.h"
#include "core/net/request_header_rules.h"
#include "core/net/shard_server.h"
#include "core/runtime/shard.h"

namespace percore::net {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

constexpr std::string_view kAuthorizationKey = "authorization";

// Request headers the wire layer consumes itself (kOther: read by nobody); kMetadata, the
// rest, is the call's metadata (its name checked: the known names are valid by equality).
// Told apart by size first: one comparison for most names.
enum class HeaderKind {
  kMetadata,
  kAuthorization,  // metadata, and the connection starts looking for it (Connection::Receive)
  kContentType,
  kGrpcEncoding,
  kGrpcTimeout,
  kTe,
  kContentLength,
  kHost,
  kConnectionSpecific,  // RFC 9113 §8.2.2: malformed in HTTP/2
  kOther
};
HeaderKind KindOf(std::string_view name) {
  switch (name.size()) {
    case 2:
      return name == "te" ? HeaderKind::kTe : HeaderKind::kMetadata;
    case 4:
      return name == "host" ? HeaderKind::kHost : HeaderKind::kMetadata;
    case 7:
      return name == "upgrade" ? HeaderKind::kConnectionSpecific : HeaderKind::kMetadata;
    case 10:
      return name == "connection" || name == "keep-alive" ? HeaderKind::kConnectionSpecific
                                                          : HeaderKind::kMetadata;
    case 16:
      return name == "proxy-connection" ? HeaderKind::kConnectionSpecific : HeaderKind::kMetadata;
    case 17:
      return name == "transfer-encoding" ? HeaderKind::kConnectionSpecific : HeaderKind::kMetadata;
    case 12:
      return name == "content-type"   ? HeaderKind::kContentType
             : name == "grpc-timeout" ? HeaderKind::kGrpcTimeout
                                      : HeaderKind::kMetadata;
    case 13:
      return name == "grpc-encoding"     ? HeaderKind::kGrpcEncoding
             : name == kAuthorizationKey ? HeaderKind::kAuthorization
                                         : HeaderKind::kMetadata;
    case 14:
      return name == "content-length" ? HeaderKind::kContentLength : HeaderKind::kMetadata;
    case 20:
      return name == "grpc-accept-encoding" ? HeaderKind::kOther : HeaderKind::kMetadata;
    default:
      return HeaderKind::kMetadata;
  }
}

}  // namespace

Stream::Stream(Connection* connection, int32_t id) : connection_(connection), id_(id) {
  connection_->Ref();
  WireStats::Add(connection_->stats().live_streams, 1);
  WireStats::Add(connection_->stats().streams_total, 1);
}

Stream::~Stream() {
  WireStats::Add(connection_->stats().live_streams, -1);
  connection_->Unref();
}

std::string_view Stream::peer() const { return connection_->peer(); }
std::string_view Stream::peer_certificate_name() const {
  return connection_->peer_certificate_name();
}

std::optional<std::string_view> Stream::metadata(std::string_view key) const {
  for (const Entry& e : entries_) {
    if (KeyIs(e, key)) return std::string_view(arena_.data() + e.value_offset, e.value_size);
  }
  return std::nullopt;
}

bool Stream::metadata_repeated(std::string_view key) const {
  int seen = 0;
  for (const Entry& e : entries_) {
    if (KeyIs(e, key) && ++seen > 1) return true;
  }
  return false;
}

std::optional<std::string_view> Stream::metadata_single(std::string_view key,
                                                        bool* repeated) const {
  *repeated = false;
  std::optional<std::string_view> first;
  for (const Entry& e : entries_) {
    if (!KeyIs(e, key)) continue;
    if (first) {
      *repeated = true;
      break;
    }
    first = std::string_view(arena_.data() + e.value_offset, e.value_size);
  }
  return first;
}

std::pair<std::string_view, std::string_view> Stream::metadata_at(size_t i) const {
  const Entry& e = entries_[i];
  return {std::string_view(arena_.data() + e.key_offset, e.key_size),
          std::string_view(arena_.data() + e.value_offset, e.value_size)};
}

bool Stream::OnHeader(std::string_view name, std::string_view value) {
  header_bytes_ += static_cast<uint32_t>(name.size() + value.size() + 32);  // RFC 7540 6.5.2
  if (header_bytes_ > connection_->options().max_header_list_bytes) {
    headers_too_large_ = true;  // answered once the block is complete; nothing more is kept
    return true;
  }
  // RFC 9113 §8.2-8.3 (request_header_rules.h): false makes the request malformed.
  if (malformed_) return true;  // reset already; the rest of its block is not looked at
  if (name.empty()) return false;
  if (name[0] == ':') {
    std::optional<PseudoHeader> which = PseudoHeaderOf(name);
    const auto bit = static_cast<uint8_t>(which.value_or(PseudoHeader{}));
    if (!which || regular_header_seen_ || (pseudo_seen_ & bit) != 0 ||
        !ValidPseudoValue(*which, value)) {
      return false;
    }
    pseudo_seen_ |= bit;
    constexpr auto kPathOrScheme =
        static_cast<uint8_t>(PseudoHeader::kPath) | static_cast<uint8_t>(PseudoHeader::kScheme);
    switch (*which) {
      case PseudoHeader::kPath:
        if (connect_) return false;  // CONNECT has neither :path nor :scheme (RFC 9113 §8.5)
        path_ = Intern(value);
        path_form_ = value[0] == '/' ? PathForm::kRegular
                     : value == "*"  ? PathForm::kAsterisk
                                     : PathForm::kOther;
        break;
      case PseudoHeader::kMethod:
        post_ = value == "POST";
        if (post_) break;
        options_ = value == "OPTIONS";
        connect_ = value == "CONNECT";
        if (connect_ && (pseudo_seen_ & kPathOrScheme) != 0) return false;
        break;
      case PseudoHeader::kScheme:
        if (connect_) return false;
        scheme_http_ = value == "http" || value == "https" ||
                       (value.size() == 4 && strncasecmp(value.data(), "http", 4) == 0) ||
                       (value.size() == 5 && strncasecmp(value.data(), "https", 5) == 0);
        break;
      case PseudoHeader::kAuthority:
        authority_ = Intern(value);
        break;
    }
    return true;
  }
  regular_header_seen_ = true;
  // Every value is checked (ValidFieldValue) unless what is done with it already proves it
  // valid: an exact match, or a parse that takes only digits and letters.
  switch (KindOf(name)) {
    case HeaderKind::kContentType:
      if (value == "application/grpc") {
        grpc_content_type_ = true;
        return true;
      }
      grpc_content_type_ = IsGrpcContentType(value);
      return ValidFieldValue(value);
    case HeaderKind::kGrpcEncoding:
      if (value == "identity") return true;
      encoding_ = value;  // the rare case: allocates only then
      return ValidFieldValue(value);
    case HeaderKind::kGrpcTimeout:
      if (auto timeout = ParseGrpcTimeout(value)) {
        deadline_ = runtime::Clock::now() + *timeout;
        return true;
      }
      return ValidFieldValue(value);
    case HeaderKind::kTe:
    case HeaderKind::kContentLength:
    case HeaderKind::kHost:
    case HeaderKind::kConnectionSpecific:
      return OnMessageField(name, value);
    case HeaderKind::kOther:
      return ValidFieldValue(value);
    case HeaderKind::kAuthorization:
      connection_->NoteAuthorization();
      if (!ValidFieldValue(value)) return false;
      break;
    case HeaderKind::kMetadata:
      if (!ValidFieldName(name) || !ValidFieldValue(value)) return false;
      break;
  }
  AddMetadata(name, value);
  return true;
}

void Stream::AddMetadata(std::string_view name, std::string_view value) {
  if (arena_.capacity() < kArenaReserve) arena_.reserve(kArenaReserve);
  if (entries_.empty()) entries_.reserve(kEntriesReserve);
  Entry entry{static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(name.size()), 0, 0};
  arena_.append(name);
  entry.value_offset = static_cast<uint32_t>(arena_.size());
  if (EndsWith(name, "-bin")) {
    if (!Base64Decode(value, &arena_)) bad_metadata_ = true;
  } else {
    arena_.append(value);
  }
  entry.value_size = static_cast<uint32_t>(arena_.size() - entry.value_offset);
  entries_.push_back(entry);
}

bool Stream::OnHandedOverAuthorization(std::string_view value) {
  // OnHeader's path for `authorization`, less the value check: this value passed it (and
  // nghttp2's decoding) when the connection first took it.
  header_bytes_ += static_cast<uint32_t>(kAuthorizationKey.size() + value.size() + 32);
  if (header_bytes_ > connection_->options().max_header_list_bytes) {
    headers_too_large_ = true;
    return true;
  }
  regular_header_seen_ = true;
  AddMetadata(kAuthorizationKey, value);
  return true;
}

bool Stream::CheckRequestHeaders() {
  if (headers_too_large_) return true;  // answered RESOURCE_EXHAUSTED; not all was looked at
  const bool has_authority = (pseudo_seen_ & static_cast<uint8_t>(PseudoHeader::kAuthority)) != 0;
  if (connect_) {  // RFC 9113 §8.5: :authority only; no body length applies
    content_length_ = -1;
    return has_authority;
  }
  constexpr uint8_t kRequired = static_cast<uint8_t>(PseudoHeader::kMethod) |
                                static_cast<uint8_t>(PseudoHeader::kScheme) |
                                static_cast<uint8_t>(PseudoHeader::kPath);
  if ((pseudo_seen_ & kRequired) != kRequired || !(has_authority || host_seen_)) return false;
  // An http(s) :path is absolute ("/..."), or "*" for OPTIONS (RFC 9113 §8.3.1).
  return !scheme_http_ || path_form_ == PathForm::kRegular ||
         (options_ && path_form_ == PathForm::kAsterisk);
}

bool Stream::OnTrailer(std::string_view name, std::string_view value) {
  if (malformed_) return true;
  // The request rules less the pseudo-headers, which trailers may not carry (RFC 9113 §8.1).
  if (name.empty() || name[0] == ':' || !ValidFieldName(name) || !ValidFieldValue(value)) {
    return false;
  }
  return OnMessageField(name, value);
}

bool Stream::OnMessageField(std::string_view name, std::string_view value) {
  switch (KindOf(name)) {
    case HeaderKind::kTe:
      return ValidTe(value);
    case HeaderKind::kConnectionSpecific:
      return false;
    case HeaderKind::kContentLength: {
      std::optional<int64_t> length = ParseContentLength(value);
      if (!length || content_length_ >= 0) return false;  // one, in headers or trailers
      content_length_ = *length;
      return true;
    }
    case HeaderKind::kHost:
      if (host_seen_ || !ValidPseudoValue(PseudoHeader::kAuthority, value)) return false;
      host_seen_ = true;
      return true;
    default:
      return true;
  }
}

bool Stream::CountData(size_t bytes) {
  data_bytes_ += static_cast<int64_t>(bytes);
  return content_length_ < 0 || data_bytes_ <= content_length_;
}

bool Stream::ContentLengthMet() const {
  return content_length_ < 0 || data_bytes_ == content_length_;
}

void Stream::ResetMalformed() {
  if (malformed_) return;
  malformed_ = true;  // first: nothing of this request is dispatched, whatever follows
  if (closed_ || !connection_->open()) return;
  nghttp2_submit_rst_stream(connection_->session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_PROTOCOL_ERROR);
  if (!cancelled_ && !finished_) MarkCancelled();
  ScheduleFlush();
}

Stream::Slice Stream::Intern(std::string_view value) {
  if (arena_.capacity() < kArenaReserve) arena_.reserve(kArenaReserve);
  Slice slice{static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(value.size())};
  arena_.append(value);
  return slice;
}

void Stream::OnHeadersDone(bool end_stream) {
  Ref();  // the handler may finish and the stream close inside
  if (!post_) {
    FinishWithHeaders(StatusCode::kUnimplemented, "", /*http_error=*/true, 405);
  } else if (!grpc_content_type_) {
    // PROTOCOL-HTTP2.md: a server SHOULD answer a non-gRPC content-type with HTTP 415.
    FinishWithHeaders(StatusCode::kUnknown, "", /*http_error=*/true, 415);
  } else if (headers_too_large_) {
    FinishWithHeaders(StatusCode::kResourceExhausted, "request header list too large", false, 0);
  } else if (bad_metadata_) {
    FinishWithHeaders(StatusCode::kInternal, "invalid base64 in -bin metadata", false, 0);
  } else if (!encoding_.empty()) {
    AddInitialMetadata("grpc-accept-encoding", "identity");
    FinishWithHeaders(StatusCode::kUnimplemented,
                      "grpc-encoding " + encoding_ + " is not supported (identity only)", false, 0);
  } else if (MethodHandler* handler = connection_->server()->dispatcher().Dispatch(path());
             handler == nullptr) {
    FinishWithHeaders(StatusCode::kUnimplemented, "unknown method " + std::string(path()), false,
                      0);
  } else {
    dispatched_ = true;
    if (deadline_ != runtime::Clock::time_point::max()) {
      deadline_timer_ = runtime::Shard::Current()->RunAfter(deadline_ - runtime::Clock::now(),
                                                            [this] { OnDeadline(); });
    }
    handler->OnStream(*this);
  }
  if (end_stream) OnEndStream();
  Unref();
}

void Stream::OnData(const uint8_t* data, size_t size) {
  if (finished_ || cancelled_ || !dispatched_) {
    ConsumeStreamWindow(size);  // nobody will read it: give the window back
    return;
  }
  if (paused_ || !pending_.empty()) {
    pending_.append(reinterpret_cast<const char*>(data), size);
    Account();
    return;
  }
  Ref();
  size_t taken = Parse(data, size);
  if (taken < size) {
    if (finished_ || cancelled_) {
      taken = size;
    } else {
      pending_.append(reinterpret_cast<const char*>(data) + taken, size - taken);
    }
  }
  ConsumeStreamWindow(taken);
  Account();
  Unref();
}

void Stream::Account() {
  size_t now = closed_ ? 0 : pending_.size() + message_.size();
  if (now == accounted_) return;
  int64_t delta = static_cast<int64_t>(now) - static_cast<int64_t>(accounted_);
  accounted_ = now;
  connection_->AddBuffered(delta);
}

size_t Stream::Parse(const uint8_t* data, size_t size) {
  size_t pos = 0;
  while (pos < size && !paused_ && !finished_ && !cancelled_) {
    if (prefix_have_ < 5) {
      size_t take = std::min<size_t>(5 - prefix_have_, size - pos);
      std::memcpy(prefix_ + prefix_have_, data + pos, take);
      prefix_have_ += take;
      pos += take;
      if (prefix_have_ < 5) break;
      MessagePrefix prefix = ReadPrefix(prefix_);
      if (prefix.flags & 1) {
        Finish(StatusCode::kInternal, "compressed message without grpc-encoding");
        break;
      }
      if (prefix.length > connection_->options().max_message_bytes) {
        // Refused from the prefix alone: nothing of the body is buffered.
        Finish(StatusCode::kResourceExhausted,
               "received message larger than max (" + std::to_string(prefix.length) + " vs. " +
                   std::to_string(connection_->options().max_message_bytes) + ")");
        break;
      }
      message_size_ = prefix.length;
      message_.clear();
      if (message_size_ == 0) {
        prefix_have_ = 0;
        Deliver({});
      }
      continue;
    }
    size_t available = size - pos;
    if (message_.empty() && available >= message_size_) {
      // The whole message is in this chunk: delivered in place, no copy.
      prefix_have_ = 0;
      pos += message_size_;
      Deliver({reinterpret_cast<const char*>(data + pos - message_size_), message_size_});
      continue;
    }
    size_t take = std::min<size_t>(message_size_ - message_.size(), available);
    message_.append(reinterpret_cast<const char*>(data + pos), take);
    pos += take;
    if (message_.size() == message_size_) {
      prefix_have_ = 0;
      Deliver(message_);
      // The observer's view ended with the call: a large buffer is given back at once.
      if (message_.capacity() > (64 << 10)) {
        std::string().swap(message_);
      } else {
        message_.clear();
      }
    }
  }
  return pos;
}

void Stream::Deliver(std::string_view message) {
  if (observer_ != nullptr) observer_->OnMessage(*this, message);
}

void Stream::Resume() {
  if (!paused_) return;
  paused_ = false;
  if (closed_) return;
  Ref();
  if (!pending_.empty()) {
    std::string input = std::move(pending_);
    pending_.clear();
    size_t taken = Parse(reinterpret_cast<const uint8_t*>(input.data()), input.size());
    if (taken < input.size() && !(finished_ || cancelled_)) {
      pending_.assign(input, taken);
    } else {
      taken = input.size();
    }
    ConsumeStreamWindow(taken);
    Account();
    ScheduleFlush();  // the WINDOW_UPDATE
  }
  DeliverHalfCloseIfDue();
  Unref();
}

void Stream::OnEndStream() {
  end_stream_ = true;
  DeliverHalfCloseIfDue();
}

void Stream::DeliverHalfCloseIfDue() {
  if (!end_stream_ || half_close_delivered_ || paused_ || !pending_.empty() || !dispatched_ ||
      cancelled_) {
    return;
  }
  half_close_delivered_ = true;
  if (prefix_have_ != 0 && !finished_) {
    Finish(StatusCode::kInternal, "half-closed in the middle of a message");
    return;
  }
  if (observer_ != nullptr) observer_->OnHalfClose(*this);
}

void Stream::ConsumeStreamWindow(size_t bytes) {
  if (bytes == 0 || closed_ || !connection_->open()) return;
  nghttp2_session_consume_stream(connection_->session(), id_, bytes);
}

void Stream::ScheduleFlush() { connection_->ScheduleFlush(); }

void Stream::Cancel() {
  if (cancelled_ || finished_) return;
  MarkCancelled();
}

void Stream::MarkCancelled() {
  cancelled_ = true;
  WireStats::Add(connection_->stats().cancelled_streams, 1);
  if (deadline_timer_ != 0) {
    runtime::Shard::Current()->CancelTimer(deadline_timer_);
    deadline_timer_ = 0;
  }
  if (observer_ != nullptr) observer_->OnCancel(*this);
}

void Stream::OnDeadline() {
  deadline_timer_ = 0;
  if (finished_ || cancelled_ || closed_) return;
  Ref();
  // The client is told DEADLINE_EXCEEDED (libgrpc's server does the same), then the handler.
  FinishWithHeaders(StatusCode::kDeadlineExceeded, "Deadline Exceeded", false, 0);
  MarkCancelled();
  Unref();
}

void Stream::OnClosed(bool reset_by_peer) {
  closed_ = true;
  // Reset by the client, or the connection went away, before the handler finished. (A reset
  // after the server finished is no cancellation: the call is over.)
  (void)reset_by_peer;
  if (!finished_) Cancel();
  if (deadline_timer_ != 0) {
    runtime::Shard::Current()->CancelTimer(deadline_timer_);
    deadline_timer_ = 0;
  }
  std::string().swap(pending_);
  std::string().swap(message_);
  std::string().swap(out_);
  Account();
  if (dispatched_ && observer_ != nullptr) observer_->OnDone(*this);
  observer_ = nullptr;
}

}  // namespace percore::net
