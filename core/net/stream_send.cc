// Stream's sending side: response headers, the message queue nghttp2 reads from, trailers.
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>

#include "core/net/connection.h"
#include "core/net/dispatcher.h"
#include "core/net/grpc_wire.h"
#include "core/net/stream.h"
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

}  // namespace

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

void Stream::EndNow(StatusCode code, std::string_view message) {
  if (closed_ || !connection_->open()) return;
  if (!finished_ && !cancelled_ && out_offset_ == out_.size()) {
    Finish(code, message);
    return;
  }
  nghttp2_submit_rst_stream(connection_->session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
  if (!cancelled_) MarkCancelled();
  ScheduleFlush();
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

}  // namespace percore::net
