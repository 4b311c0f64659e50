#include "core/net/connection.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>

#include "core/net/shard_server.h"
#include "core/net/stream.h"
#include "core/runtime/shard.h"

namespace percore::net {
namespace {

// How many reads one readiness event may do before the loop moves on (fairness between
// connections; level-triggered epoll brings the rest next round).
constexpr int kReadsPerEvent = 4;

// The PING sent with the GOAWAY notice; its ACK (one round trip later) sends the final GOAWAY.
constexpr uint8_t kDrainPingPayload[8] = {'p', 'c', '-', 'd', 'r', 'a', 'i', 'n'};
// ... or this long after the notice, whichever comes first.
constexpr auto kFinalGoawayAfter = std::chrono::seconds(2);

Stream* StreamOf(nghttp2_session* session, int32_t id) {
  return static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, id));
}

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
      ssize_t used = nghttp2_session_mem_recv(session_, buffer, static_cast<size_t>(n));
      if (used < 0) {
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

int Connection::OnBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame, void* self) {
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto* connection = static_cast<Connection*>(self);
  auto* stream = new Stream(connection, frame->hd.stream_id);
  connection->Link(stream);
  nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, stream);
  return 0;
}

int Connection::OnHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                         size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void*) {
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;  // the client's trailers carry nothing gRPC uses
  }
  Stream* stream = StreamOf(session, frame->hd.stream_id);
  if (stream == nullptr) return 0;
  bool ok = stream->OnHeader({reinterpret_cast<const char*>(name), namelen},
                             {reinterpret_cast<const char*>(value), valuelen});
  return ok ? 0 : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets this stream only
}

int Connection::OnFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void* self) {
  bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS: {
      Stream* stream = StreamOf(session, frame->hd.stream_id);
      if (stream == nullptr) return 0;
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        stream->OnHeadersDone(end_stream);
      } else if (end_stream) {
        stream->OnEndStream();  // trailers from the client end its side
      }
      return 0;
    }
    case NGHTTP2_DATA:
      if (end_stream) {
        if (Stream* stream = StreamOf(session, frame->hd.stream_id)) stream->OnEndStream();
      }
      return 0;
    case NGHTTP2_PING:
      if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) {
        static_cast<Connection*>(self)->OnClientPing();
      } else if (std::memcmp(frame->ping.opaque_data, kDrainPingPayload, 8) == 0) {
        static_cast<Connection*>(self)->SendFinalGoaway();
      }
      return 0;
    default:
      return 0;
  }
}

void Connection::AddBuffered(int64_t delta) {
  buffered_ += delta;
  if (delta < 0 && owed_window_ > 0 && open() &&
      buffered_ < static_cast<int64_t>(options().connection_buffer_bytes)) {
    nghttp2_session_consume_connection(session_, owed_window_);
    owed_window_ = 0;
    ScheduleFlush();
  }
}

int Connection::OnDataChunk(nghttp2_session* session, uint8_t, int32_t stream_id,
                            const uint8_t* data, size_t len, void* self) {
  // The connection window comes back at once (the stream's when its consumer takes the bytes),
  // unless the streams already buffer the connection's budget: then it waits for them.
  auto* connection = static_cast<Connection*>(self);
  if (connection->buffered_ < static_cast<int64_t>(connection->options().connection_buffer_bytes)) {
    nghttp2_session_consume_connection(session, len);
  } else {
    connection->owed_window_ += len;
  }
  Stream* stream = StreamOf(session, stream_id);
  if (stream == nullptr) {
    nghttp2_session_consume_stream(session, stream_id, len);
    return 0;
  }
  stream->OnData(data, len);
  return 0;
}

int Connection::OnStreamClose(nghttp2_session* session, int32_t stream_id, uint32_t error_code,
                              void* self) {
  Stream* stream = StreamOf(session, stream_id);
  if (stream == nullptr) return 0;
  auto* connection = static_cast<Connection*>(self);
  nghttp2_session_set_stream_user_data(session, stream_id, nullptr);
  connection->Unlink(stream);
  stream->OnClosed(error_code != NGHTTP2_NO_ERROR);
  stream->Unref();  // the connection's reference
  return 0;
}

int Connection::OnFrameSend(nghttp2_session* session, const nghttp2_frame* frame, void* self) {
  if (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) {
    // The server is sending: pings in between are keepalive of a live call, not abuse.
    auto* connection = static_cast<Connection*>(self);
    connection->ping_strikes_ = 0;
    connection->last_ping_ = {};
  }
  // The server ended the stream while the client still sends (an early error status): reset
  // its side with NO_ERROR, as PROTOCOL-HTTP2.md says, so it stops uploading.
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0 &&
      nghttp2_session_get_stream_remote_close(session, frame->hd.stream_id) == 0) {
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
  }
  return 0;
}

nghttp2_session_callbacks* Connection::Callbacks() {
  static nghttp2_session_callbacks* callbacks = [] {
    nghttp2_session_callbacks* c = nullptr;
    nghttp2_session_callbacks_new(&c);
    nghttp2_session_callbacks_set_on_begin_headers_callback(c, &Connection::OnBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(c, &Connection::OnHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(c, &Connection::OnFrameRecv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(c, &Connection::OnDataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(c, &Connection::OnStreamClose);
    nghttp2_session_callbacks_set_on_frame_send_callback(c, &Connection::OnFrameSend);
    return c;
  }();
  return callbacks;
}

std::string_view Connection::peer_certificate_name() {
  if (!peer_certificate_name_) {
    peer_certificate_name_.emplace();
    X509* cert = ssl_ != nullptr && !handshaking_ ? SSL_get0_peer_certificate(ssl_) : nullptr;
    if (cert != nullptr && SSL_get_verify_result(ssl_) == X509_V_OK) {
      char name[256];
      int length =
          X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
      if (length > 0) peer_certificate_name_->assign(name, static_cast<size_t>(length));
    }
  }
  return *peer_certificate_name_;
}

}  // namespace percore::net
