#include "core/net/stream.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>

#include "core/net/connection.h"
#include "core/net/dispatcher.h"
#include "core/net/grpc_wire.h"
#include "core/net/shard_server.h"
#include "core/runtime/shard.h"

namespace percore::net {
namespace {

nghttp2_nv Nv(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Request headers the wire layer consumes itself; the rest is the call's metadata.
bool IsTransportHeader(std::string_view name) {
  return name == "content-type" || name == "te" || name == "grpc-timeout" ||
         name == "grpc-encoding" || name == "grpc-accept-encoding" || name == "content-length";
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

std::optional<std::string_view> Stream::metadata(std::string_view key) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    auto [k, v] = metadata_at(i);
    if (k == key) return v;
  }
  return std::nullopt;
}

std::pair<std::string_view, std::string_view> Stream::metadata_at(size_t i) const {
  const Entry& e = entries_[i];
  std::string_view arena(arena_);
  return {arena.substr(e.key_offset, e.key_size), arena.substr(e.value_offset, e.value_size)};
}

bool Stream::OnHeader(std::string_view name, std::string_view value) {
  header_bytes_ += static_cast<uint32_t>(name.size() + value.size() + 32);  // RFC 7540 6.5.2
  if (header_bytes_ > connection_->options().max_header_list_bytes) {
    headers_too_large_ = true;  // answered once the block is complete; nothing more is kept
    return true;
  }
  if (name.empty()) return false;
  if (name[0] == ':') {
    if (name == ":path") {
      path_ = Intern(value);
    } else if (name == ":method") {
      post_ = value == "POST";
    } else if (name == ":authority") {
      authority_ = Intern(value);
    }
    return true;
  }
  if (name == "content-type") {
    grpc_content_type_ = IsGrpcContentType(value);
  } else if (name == "grpc-encoding") {
    if (value != "identity") encoding_ = value;  // the rare case: allocates only then
  } else if (name == "grpc-timeout") {
    if (auto timeout = ParseGrpcTimeout(value)) {
      deadline_ = runtime::Clock::now() + *timeout;
    }
  }
  if (IsTransportHeader(name)) return true;
  if (arena_.capacity() < kArenaReserve) arena_.reserve(kArenaReserve);
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
  return true;
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

// -bin values go out base64-encoded (unpadded is allowed; libgrpc's clients take padded).
static void AddHeader(std::vector<std::pair<std::string, std::string>>* to, std::string_view key,
                      std::string_view value) {
  auto& [k, v] = to->emplace_back(key, std::string());
  if (EndsWith(k, "-bin")) {
    Base64Encode(value, &v);
  } else {
    v.assign(value);
  }
}

void Stream::AddInitialMetadata(std::string_view key, std::string_view value) {
  if (headers_sent_) return;
  AddHeader(&initial_, key, value);
}

void Stream::AddTrailingMetadata(std::string_view key, std::string_view value) {
  AddHeader(&trailing_, key, value);
}

// Header fields for one submit, inline up to a handful (nghttp2 copies them): no allocation
// for the usual response.
class NvList {
 public:
  void Add(std::string_view name, std::string_view value) {
    if (size_ < kInline) {
      inline_[size_++] = Nv(name, value);
      return;
    }
    if (more_.empty()) more_.assign(inline_, inline_ + kInline);
    more_.push_back(Nv(name, value));
    ++size_;
  }
  const nghttp2_nv* data() const { return size_ <= kInline ? inline_ : more_.data(); }
  size_t size() const { return size_; }

 private:
  static constexpr size_t kInline = 8;
  nghttp2_nv inline_[kInline];
  std::vector<nghttp2_nv> more_;
  size_t size_ = 0;
};

void Stream::AddStatusFields(NvList& nva) const {
  static constexpr std::string_view kCodes[] = {"0", "1",  "2",  "3",  "4",  "5",  "6",  "7", "8",
                                                "9", "10", "11", "12", "13", "14", "15", "16"};
  auto code = static_cast<size_t>(status_code_);
  nva.Add("grpc-status", code < std::size(kCodes) ? kCodes[code] : "2");
  if (!status_message_.empty()) nva.Add("grpc-message", status_message_);
  for (const Header& h : trailing_) nva.Add(h.first, h.second);
}

void Stream::SubmitHeaders(bool with_body) {
  headers_sent_ = true;
  NvList nva;
  nva.Add(":status", "200");
  nva.Add("content-type", "application/grpc");
  for (const Header& h : initial_) nva.Add(h.first, h.second);
  if (!with_body) {  // Trailers-Only: the status rides on the one HEADERS frame
    AddStatusFields(nva);
    nghttp2_submit_response(connection_->session(), id_, nva.data(), nva.size(), nullptr);
    return;
  }
  nghttp2_data_provider provider;
  provider.source.ptr = this;
  provider.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                              uint32_t* flags, nghttp2_data_source* source, void*) -> ssize_t {
    return ReadData(source->ptr, buf, length, flags);
  };
  nghttp2_submit_response(connection_->session(), id_, nva.data(), nva.size(), &provider);
}

void Stream::SendInitialMetadata() {
  if (headers_sent_ || finished_ || cancelled_ || !connection_->open()) return;
  SubmitHeaders(/*with_body=*/true);
  ScheduleFlush();
}

bool Stream::writable() const {
  if (closed_) return false;  // (the connection's options may be gone with its server)
  return out_.size() - out_offset_ < connection_->options().stream_write_queue_bytes;
}

bool Stream::Write(std::string_view message) {
  if (finished_ || cancelled_ || closed_ || !connection_->open()) return false;
  if (!writable()) {
    want_writable_ = true;
    return false;
  }
  if (out_offset_ > 0 && out_offset_ >= out_.size() / 2) {  // keep the queue from creeping
    out_.erase(0, out_offset_);
    out_offset_ = 0;
  }
  size_t at = out_.size();
  out_.resize(at + 5 + message.size());
  WritePrefix(reinterpret_cast<uint8_t*>(out_.data() + at), static_cast<uint32_t>(message.size()));
  std::memcpy(out_.data() + at + 5, message.data(), message.size());
  if (!headers_sent_) {
    SubmitHeaders(/*with_body=*/true);
  } else if (data_deferred_) {
    data_deferred_ = false;
    nghttp2_session_resume_data(connection_->session(), id_);
  }
  ScheduleFlush();
  return true;
}

long Stream::ReadData(void* self, uint8_t* buf, size_t length, uint32_t* flags) {
  auto* stream = static_cast<Stream*>(self);
  size_t available = stream->out_.size() - stream->out_offset_;
  size_t n = std::min(length, available);
  if (n > 0) {
    std::memcpy(buf, stream->out_.data() + stream->out_offset_, n);
    stream->out_offset_ += n;
    if (stream->out_offset_ == stream->out_.size()) {
      stream->out_.clear();
      stream->out_offset_ = 0;
    }
    if (stream->want_writable_ && stream->out_.size() - stream->out_offset_ <=
                                      stream->connection_->options().stream_write_queue_bytes / 2) {
      stream->want_writable_ = false;
      stream->Ref();  // released once notified, after nghttp2 is done sending
      stream->connection_->QueueWritable(stream);
    }
  }
  if (stream->out_offset_ == stream->out_.size() && stream->finish_pending_) {
    stream->finish_pending_ = false;
    *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
    NvList nva;
    stream->AddStatusFields(nva);
    nghttp2_submit_trailer(stream->connection_->session(), stream->id_, nva.data(), nva.size());
    return static_cast<long>(n);
  }
  if (n == 0) {
    stream->data_deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  return static_cast<long>(n);
}

void Stream::NotifyWritable() {
  if (observer_ != nullptr && !finished_ && !cancelled_ && !closed_) observer_->OnWritable(*this);
}

void Stream::SetStatus(StatusCode code, std::string_view message) {
  status_code_ = code;
  PercentEncode(message, &status_message_);
}

void Stream::Finish(StatusCode code, std::string_view message) {
  if (finished_ || cancelled_ || closed_ || !connection_->open()) return;
  FinishWithHeaders(code, message, false, 0);
}

void Stream::FinishWithHeaders(StatusCode code, std::string_view message, bool http_error,
                               int status) {
  finished_ = true;
  if (deadline_timer_ != 0) {
    runtime::Shard::Current()->CancelTimer(deadline_timer_);
    deadline_timer_ = 0;
  }
  // What the client sends from here on is not read: its window goes back at once.
  // (message_ stays: `message` or an observer may still be looking at it.)
  if (!pending_.empty()) {
    ConsumeStreamWindow(pending_.size());
    std::string().swap(pending_);
    Account();
  }
  if (http_error) {
    std::string code_text = std::to_string(status);
    nghttp2_nv nva[] = {Nv(":status", code_text)};
    nghttp2_submit_response(connection_->session(), id_, nva, 1, nullptr);
    headers_sent_ = true;
  } else if (!headers_sent_) {
    SetStatus(code, message);
    SubmitHeaders(/*with_body=*/false);
  } else {
    SetStatus(code, message);
    finish_pending_ = true;
    if (data_deferred_) {
      data_deferred_ = false;
      nghttp2_session_resume_data(connection_->session(), id_);
    }
  }
  ScheduleFlush();
}

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
