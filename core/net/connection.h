#pragma once
// Threading contract: a Connection lives on the shard that accepted its socket and is used only
// on that shard's thread (fd events, deferred flushes, its streams' calls).
//
// One HTTP/2 connection served by an nghttp2 server session: reads go through
// nghttp2_session_mem_recv from the shard's shared read buffer; what nghttp2 wants to send is
// collected with nghttp2_session_mem_send into one write buffer and sent once per loop round
// (Poller::Defer), so many streams' writes in one round leave in one send(). HPACK, framing and
// flow-control bookkeeping are nghttp2's; the gRPC semantics live in Stream.
//
// TLS (when the shard has an SSL_CTX, core/tls/server_tls_context.h): OpenSSL on the socket
// itself (SSL_set_fd, non-blocking): the handshake runs first, driven by the same readiness
// events (nothing of HTTP/2 is read or sent before it completes, ALPN "h2" required), then
// SSL_read/SSL_write take the place of recv/send. OpenSSL's socket BIO writes without
// MSG_NOSIGNAL: the process must ignore SIGPIPE (percore-server's main does). A record is at most
// 16 KiB, so reads go on until OpenSSL wants more from the socket rather than stopping at a short
// read.
//
// Lifetime: the ShardServer holds one reference while the connection is open, each Stream one;
// Close() (EOF, error, nothing left to do after GOAWAY, server stop) tears the session down at
// the end of the round, cancels the open streams, closes the fd and drops the server's reference.

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/net/authorization_memo.h"
#include "core/net/request_frame_scanner.h"
#include "core/net/wire_options.h"
#include "core/runtime/poller.h"
#include "core/runtime/timer_queue.h"

namespace percore::net {

class ShardServer;
class Stream;

class Connection final : public runtime::FdHandler, public runtime::Deferred {
 public:
  Connection(ShardServer* server, int fd, std::string peer);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends the server's SETTINGS and starts watching the socket. False: the connection was
  // closed at once (the caller drops nothing: Close() took care of it).
  void Start();
  // GOAWAY in two phases (RFC 9113 §6.8): a notice that admits streams already in flight,
  // then, when the client answers the PING sent with it (one round trip), the final GOAWAY
  // naming the last stream taken; the connection closes when those streams are done.
  void Drain();
  bool draining() const { return drain_sent_; }
  // Closes at the end of this round, cancelling open streams.
  void Close();

  void Ref() { ++refs_; }
  void Unref() {
    if (--refs_ == 0) delete this;
  }

  // For streams.
  nghttp2_session* session() const { return session_; }
  bool open() const { return session_ != nullptr && !closing_; }
  const WireOptions& options() const;
  WireStats& stats() const { return *stats_; }
  ShardServer* server() const { return server_; }
  const std::string& peer() const { return peer_; }
  // TLS with a verified client certificate (--tls-client-ca): its subject's common name; ""
  // otherwise. Read once, on first use, then kept.
  std::string_view peer_certificate_name();
  void ScheduleFlush();
  void QueueWritable(Stream* stream) { writable_.push_back(stream); }
  // What the streams hold of received bytes (partial messages, paused input) changed by
  // `delta`; below the budget again, the held-back connection window is returned.
  void AddBuffered(int64_t delta);
  // The client sent `authorization`: its requests' headers are looked into from now on.
  void NoteAuthorization() { authorization_seen_ = true; }

  Connection* prev = nullptr;  // the ShardServer's list
  Connection* next = nullptr;
  // Max connection age (ShardServer's sweep): GOAWAY at drain_at, closed at close_at.
  runtime::Clock::time_point drain_at = runtime::Clock::time_point::max();
  runtime::Clock::time_point close_at = runtime::Clock::time_point::max();

 private:
  ~Connection();
  void OnFdReady(uint32_t events) override;
  void RunDeferred() override;
  bool Flush();  // false: the socket failed
  // TLS: drives the handshake; false when it failed (the caller closes).
  bool Handshake();
  // recv/send, or SSL_read/SSL_write under TLS: > 0 bytes, 0 the peer closed (reads only), -1
  // with errno EAGAIN to wait for readiness, -1 with another errno on failure.
  ssize_t ReadSome(uint8_t* buffer, size_t size);
  ssize_t WriteSome(const char* data, size_t size);
  void UpdateInterest();
  void TearDown();
  // One read's bytes to nghttp2 (false: a connection error, GOAWAY queued). A request's
  // `authorization` literal equal to the one before is cut out of its HEADERS frame and its
  // remembered value handed to the stream in its place (authorization_memo.h).
  bool Receive(uint8_t* data, size_t size);
  bool Feed(const uint8_t* data, size_t size);
  // The remembered value to stream inject_stream_, if that stream is still there.
  void InjectAuthorization();
  void Link(Stream* stream);
  void Unlink(Stream* stream);

  // The PING sent with the GOAWAY notice; its ACK (one round trip later) sends the final GOAWAY.
  static constexpr uint8_t kDrainPingPayload[8] = {'p', 'c', '-', 'd', 'r', 'a', 'i', 'n'};
  // The nghttp2 callbacks (connection_callbacks.cc).
  static nghttp2_session_callbacks* Callbacks();
  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                      void* self);
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int OnDataChunk(nghttp2_session*, uint8_t flags, int32_t stream_id, const uint8_t* data,
                         size_t len, void* self);
  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* self);
  static int OnFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* self);
  void SendFinalGoaway();
  void CancelFinalGoawayTimer();
  void OnClientPing();  // keepalive enforcement (WireOptions::min_ping_interval)

  ShardServer* server_;
  WireStats* stats_;
  const int fd_;
  const std::string peer_;
  nghttp2_session* session_ = nullptr;
  int refs_ = 1;
  bool closing_ = false;
  bool drain_sent_ = false;  // the GOAWAY notice went (or goes) out
  bool final_goaway_ = false;
  runtime::TimerId final_goaway_timer_ = 0;
  bool close_after_flush_ = false;          // GOAWAY with an error queued: close once it is sent
  runtime::Clock::time_point last_ping_{};  // epoch: no PING yet (or data sent since)
  int ping_strikes_ = 0;
  bool reading_ = true;   // EPOLLIN wanted
  bool writing_ = false;  // EPOLLOUT wanted
  SSL* ssl_ = nullptr;    // TLS: this connection's session; nullptr in plaintext
  std::optional<std::string> peer_certificate_name_;  // read on first use
  bool handshaking_ = false;
  bool tls_wants_write_ = false;  // OpenSSL waits for the socket to take bytes
  std::string wbuf_;
  size_t wbuf_offset_ = 0;
  Stream* streams_ = nullptr;  // open streams, for teardown
  std::vector<Stream*> writable_;
  // Received bytes the streams buffer, and connection window not yet returned because of them:
  // past WireOptions::connection_buffer_bytes the client's connection window closes.
  int64_t buffered_ = 0;
  size_t owed_window_ = 0;
  // Request headers are looked into for an `authorization` literal once the client has sent one
  // (a client without tokens pays only the frame walk).
  RequestFrameScanner frame_scanner_;
  AuthorizationMemo authorization_memo_;
  bool authorization_seen_ = false;
  // The stream whose literal was cut: given the value before its header block is reported done.
  int32_t inject_stream_ = 0;
};

}  // namespace percore::net
