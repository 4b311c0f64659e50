#include "core/net/connection.h"

#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>

#include "core/net/hpack_authorization.h"
#include "core/net/shard_server.h"
#include "core/net/stream.h"
#include "core/runtime/shard.h"
#include "core/tls/peer_common_name.h"

namespace percore::net {
namespace {

// How many reads one readiness event may do before the loop moves on (fairness between
// connections; level-triggered epoll brings the rest next round).
constexpr int kReadsPerEvent = 4;

// ... or this long after the notice, whichever comes first.
constexpr auto kFinalGoawayAfter = std::chrono::seconds(2);

}  // namespace

Connection::Connection(ShardServer* server, int fd, std::string peer)
    : server_(server), stats_(&server->stats()), fd_(fd), peer_(std::move(peer)) {
  WireStats::Add(stats_->connections, 1);
  WireStats::Add(stats_->connections_total, 1);
  if (SSL_CTX* tls = server->tls()) {
    ssl_ = SSL_new(tls);
    if (ssl_ != nullptr && SSL_set_fd(ssl_, fd) == 1) {
      SSL_set_accept_state(ssl_);
      handshaking_ = true;
    } else {
      closing_ = true;  // Start() sees it and closes
    }
  }
}

Connection::~Connection() {
  SSL_free(ssl_);
  WireStats::Add(stats_->connections, -1);
}

bool Connection::Handshake() {
  ERR_clear_error();
  int result = SSL_do_handshake(ssl_);
  tls_wants_write_ = false;
  if (result == 1) {
    handshaking_ = false;
    const unsigned char* protocol = nullptr;
    unsigned int length = 0;
    SSL_get0_alpn_selected(ssl_, &protocol, &length);
    // HTTP/2 over TLS is negotiated with ALPN; a client that did not offer it is not gRPC.
    return length == 2 && protocol[0] == 'h' && protocol[1] == '2';
  }
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
      return true;
    case SSL_ERROR_WANT_WRITE:
      tls_wants_write_ = true;
      return true;
    default:
      ERR_clear_error();
      return false;  // a bad certificate, no client certificate, no h2, not TLS at all ...
  }
}

ssize_t Connection::ReadSome(uint8_t* buffer, size_t size) {
  if (ssl_ == nullptr) return recv(fd_, buffer, size, 0);
  ERR_clear_error();
  int n = SSL_read(ssl_, buffer, static_cast<int>(size));
  if (n > 0) return n;
  switch (SSL_get_error(ssl_, n)) {
    case SSL_ERROR_WANT_READ:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_WANT_WRITE:
      tls_wants_write_ = true;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;  // close_notify
    default:
      ERR_clear_error();
      errno = ECONNRESET;
      return -1;
  }
}

ssize_t Connection::WriteSome(const char* data, size_t size) {
  if (ssl_ == nullptr) return send(fd_, data, size, MSG_NOSIGNAL);
  ERR_clear_error();
  // Partial writes and a moving buffer are allowed (server_tls_context.cc), so a retry after
  // WANT_WRITE may pass the same bytes from wherever the write buffer holds them now.
  int n = SSL_write(ssl_, data, static_cast<int>(std::min<size_t>(size, 1 << 30)));
  tls_wants_write_ = false;
  if (n > 0) return n;
  switch (SSL_get_error(ssl_, n)) {
    case SSL_ERROR_WANT_WRITE:
      tls_wants_write_ = true;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_WANT_READ:
      errno = EAGAIN;
      return -1;
    default:
      ERR_clear_error();
      errno = EPIPE;
      return -1;
  }
}

const WireOptions& Connection::options() const { return server_->options(); }

void Connection::Start() {
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  // Windows are returned by hand: at once for the connection, per stream as its consumer takes
  // the bytes (Stream), so a paused consumer closes its stream's window only.
  nghttp2_option_set_no_auto_window_update(option, 1);
  // The request rules of RFC 9113 §8 are Stream's (request_header_rules.h), not nghttp2's: its
  // per-byte checks of every field cost ~2,400 instructions a GetUser. Framing, HPACK, stream
  // states and flow control stay nghttp2's.
  nghttp2_option_set_no_http_messaging(option, 1);
  nghttp2_session_server_new2(&session_, Callbacks(), this, option);
  nghttp2_option_del(option);
  const WireOptions& o = options();
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, o.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(o.stream_window_bytes)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, o.max_header_list_bytes},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, o.connection_window_bytes);
  server_->Link(this);
  if (closing_) {  // TLS could not be set up for it
    closing_ = false;
    Close();
    return;
  }
  if (!server_->poller().Add(fd_, runtime::Poller::kReadable, this)) {
    Close();
    return;
  }
  ScheduleFlush();
}

void Connection::Drain() {
  if (!open() || drain_sent_) return;
  drain_sent_ = true;
  // Last-Stream-ID 2^31-1: streams the client is sending now are still taken.
  nghttp2_submit_shutdown_notice(session_);
  nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, kDrainPingPayload);
  // A client that never answers the PING gets the final GOAWAY anyway (it does not hold the
  // connection open for the whole drain grace). Cancelled at teardown, so `this` is alive.
  final_goaway_timer_ = runtime::Shard::Current()->RunAfter(kFinalGoawayAfter, [this] {
    final_goaway_timer_ = 0;
    SendFinalGoaway();
  });
  ScheduleFlush();
}

void Connection::SendFinalGoaway() {
  CancelFinalGoawayTimer();
  if (!open() || final_goaway_) return;
  final_goaway_ = true;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  ScheduleFlush();
}

void Connection::OnClientPing() {
  auto interval = options().min_ping_interval;
  if (interval.count() <= 0 || close_after_flush_) return;
  auto now = runtime::Clock::now();
  if (last_ping_ != runtime::Clock::time_point{} && now - last_ping_ < interval &&
      ++ping_strikes_ > options().max_ping_strikes) {
    // What libgrpc sends, so grpc clients back off their keepalive ("too_many_pings").
    static constexpr std::string_view kReason = "too_many_pings";
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_),
                          NGHTTP2_ENHANCE_YOUR_CALM,
                          reinterpret_cast<const uint8_t*>(kReason.data()), kReason.size());
    WireStats::Add(stats_->ping_abusers, 1);
    close_after_flush_ = final_goaway_ = drain_sent_ = true;
    ScheduleFlush();
  }
  last_ping_ = now;
}

void Connection::Close() {
  if (closing_) return;
  closing_ = true;
  server_->poller().Defer(this);
}

void Connection::ScheduleFlush() {
  if (session_ != nullptr) server_->poller().Defer(this);
}

void Connection::OnFdReady(uint32_t events) {
  if (!open()) return;
  if (handshaking_) {
    if (!Handshake()) return Close();
    if (handshaking_) return UpdateInterest();
    events |= EPOLLIN;  // the handshake's last read may have brought application data too
  }
  if (events & EPOLLOUT) {
    if (!Flush()) return Close();
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
    uint8_t* buffer = server_->read_buffer();
    // Under TLS a read returns one record (at most 16 KiB): more reads per event, and a short
    // one does not mean the socket is drained.
    const int reads = ssl_ != nullptr ? 4 * kReadsPerEvent : kReadsPerEvent;
    for (int i = 0; i < reads && reading_; ++i) {
      ssize_t n = ReadSome(buffer, ShardServer::kReadBufferBytes);
      if (n == 0) return Close();  // the client closed: its open streams are cancelled
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        return Close();
      }
      if (!Receive(buffer, static_cast<size_t>(n))) {
        // A protocol error: nghttp2 has queued a GOAWAY; send it, then close.
        Flush();
        return Close();
      }
      if (closing_) return;
      if (ssl_ == nullptr && static_cast<size_t>(n) < ShardServer::kReadBufferBytes) break;
    }
  }
  ScheduleFlush();
}

void Connection::RunDeferred() {
  if (closing_) return TearDown();
  if (!Flush()) return TearDown();
  if (close_after_flush_ && wbuf_offset_ == wbuf_.size() &&
      nghttp2_session_want_write(session_) == 0) {
    return TearDown();  // the GOAWAY with its error is out
  }
  // Streams whose queues drained may write again; their writes are sent this same round.
  while (!writable_.empty()) {
    std::vector<Stream*> ready;
    ready.swap(writable_);
    for (Stream* stream : ready) {
      stream->NotifyWritable();
      stream->Unref();
    }
    if (!open()) return TearDown();
    if (!Flush()) return TearDown();
  }
  if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0 &&
      wbuf_offset_ == wbuf_.size()) {
    TearDown();  // after GOAWAY with nothing left, or the client's GOAWAY
  }
}

bool Connection::Receive(uint8_t* data, size_t size) {
  if (!options().reuse_authorization) return Feed(data, size);
  size_t fed = 0;
  size_t cursor = 0;
  while (std::optional<FoundAuthorization> found =
             frame_scanner_.Next(data, size, &cursor, authorization_seen_)) {
    const AuthorizationLiteral& literal = found->literal;
    if (authorization_memo_.Matches(literal.wire_value)) {
      WireStats::Add(stats_->authorization_reuses, 1);
    } else {
      std::optional<std::string> value = DecodeAuthorizationValue(literal.wire_value);
      if (!value) continue;  // left in the frame: nghttp2 refuses it as it would anyway
      authorization_memo_.Remember(literal.wire_value, std::move(*value));
    }
    // The frame, shortened by the literal, goes to nghttp2 in two parts around it (a literal
    // without indexing leaves the HPACK state as it was), and the value to the stream where the
    // literal was: after the fields before it, before the block is reported complete.
    uint8_t* header = data + found->frame_begin;
    RequestFrameScanner::SetFrameLength(header,
                                        RequestFrameScanner::FrameLength(header) -
                                            static_cast<uint32_t>(literal.end - literal.begin));
    inject_stream_ = found->stream_id;
    if (!Feed(data + fed, literal.begin - fed)) return false;
    InjectAuthorization();  // unless OnFrameRecv did, the literal having ended the block
    fed = literal.end;
    if (closing_) return true;
  }
  return Feed(data + fed, size - fed);
}

bool Connection::Feed(const uint8_t* data, size_t size) {
  // nghttp2 takes all of it (no callback pauses) or fails the connection.
  return size == 0 || nghttp2_session_mem_recv(session_, data, size) >= 0;
}

bool Connection::Flush() {
  if (handshaking_) {  // nothing of HTTP/2 leaves before the handshake is done
    UpdateInterest();
    return true;
  }
  const size_t limit = options().connection_write_buffer_bytes;
  for (;;) {
    // Frames first, into one buffer, so one send() carries every stream's writes of the round.
    while (wbuf_.size() - wbuf_offset_ < limit) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) return false;
      if (n == 0) break;
      wbuf_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    bool drained = true;
    while (wbuf_offset_ < wbuf_.size()) {
      ssize_t sent = WriteSome(wbuf_.data() + wbuf_offset_, wbuf_.size() - wbuf_offset_);
      if (sent < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          drained = false;
          break;
        }
        return false;
      }
      wbuf_offset_ += static_cast<size_t>(sent);
    }
    if (drained) {
      wbuf_.clear();
      wbuf_offset_ = 0;
      if (nghttp2_session_want_write(session_) != 0) continue;  // the limit cut it short
    } else if (wbuf_offset_ > 0 && wbuf_offset_ >= wbuf_.size() / 2) {
      wbuf_.erase(0, wbuf_offset_);
      wbuf_offset_ = 0;
    }
    break;
  }
  UpdateInterest();
  return true;
}

void Connection::UpdateInterest() {
  size_t buffered = wbuf_.size() - wbuf_offset_;
  // A client that does not read what it asked for is not read from either.
  bool reading = buffered < options().connection_write_buffer_bytes;
  bool writing = buffered > 0 || tls_wants_write_;
  if (reading == reading_ && writing == writing_) return;
  reading_ = reading;
  writing_ = writing;
  server_->poller().Modify(
      fd_, (reading ? runtime::Poller::kReadable : 0) | (writing ? runtime::Poller::kWritable : 0));
}

void Connection::CancelFinalGoawayTimer() {
  if (final_goaway_timer_ != 0) {
    runtime::Shard::Current()->CancelTimer(final_goaway_timer_);
    final_goaway_timer_ = 0;
  }
}

void Connection::TearDown() {
  if (session_ == nullptr) return;
  closing_ = true;
  CancelFinalGoawayTimer();
  server_->poller().Remove(fd_);
  if (ssl_ != nullptr && !handshaking_) SSL_shutdown(ssl_);  // close_notify, best effort
  close(fd_);
  // nghttp2_session_del calls no stream-close callbacks: the open streams are closed here.
  while (Stream* stream = streams_) {
    Unlink(stream);
    stream->OnClosed(/*reset_by_peer=*/true);
    stream->Unref();
  }
  for (Stream* stream : writable_) stream->Unref();
  writable_.clear();
  nghttp2_session_del(session_);
  session_ = nullptr;
  server_->Unlink(this);
  Unref();  // the server's reference; `this` may be gone
}

void Connection::Link(Stream* stream) {
  stream->next_ = streams_;
  if (streams_ != nullptr) streams_->prev_ = stream;
  streams_ = stream;
}

void Connection::Unlink(Stream* stream) {
  if (stream->prev_ != nullptr) stream->prev_->next_ = stream->next_;
  if (stream->next_ != nullptr) stream->next_->prev_ = stream->prev_;
  if (streams_ == stream) streams_ = stream->next_;
  stream->prev_ = stream->next_ = nullptr;
}

std::string_view Connection::peer_certificate_name() {
  if (!peer_certificate_name_) {
    peer_certificate_name_ = handshaking_ ? std::string() : tls::VerifiedPeerCommonName(ssl_);
  }
  return *peer_certificate_name_;
}

}  // namespace percore::net
