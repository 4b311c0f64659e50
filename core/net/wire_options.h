#pragma once
// Threading contract: WireOptions is a plain value fixed before the server starts; WireStats'
// counters are written on their shard's thread and may be read from any thread (relaxed).
//
// The limits of percore's own transport, per connection and per stream, and what it counts.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace percore::net {

struct WireOptions {
  // SETTINGS_MAX_CONCURRENT_STREAMS: more are refused by nghttp2 (RST_STREAM REFUSED_STREAM).
  uint32_t max_concurrent_streams = 1024;
  // SETTINGS_MAX_HEADER_LIST_SIZE, enforced here too (a larger request: RESOURCE_EXHAUSTED).
  uint32_t max_header_list_bytes = 16 << 10;
  // The largest request message, checked from its length prefix before it is buffered.
  uint32_t max_message_bytes = 4 << 20;
  // Flow-control windows given to the client: per stream (SETTINGS_INITIAL_WINDOW_SIZE) and per
  // connection. Large enough that one round trip's worth of bytes is in flight on loopback and
  // LAN; a stream's unconsumed bytes are bounded by its window.
  int32_t stream_window_bytes = 1 << 20;
  int32_t connection_window_bytes = 8 << 20;
  // Received bytes a connection's streams may buffer together (partial messages, input of
  // paused streams) before the client's connection window is held closed: per-connection
  // memory stays under this plus one connection window.
  uint32_t connection_buffer_bytes = 32 << 20;
  // Bytes a stream may queue for sending before Write() refuses (backpressure).
  uint32_t stream_write_queue_bytes = 256 << 10;
  // Bytes a connection buffers for the socket before it stops reading from the client (a client
  // that does not read its responses stops being served instead of growing this).
  uint32_t connection_write_buffer_bytes = 512 << 10;
  // Connections one shard serves at once; a connection accepted past it is closed at once (the
  // client sees a reset and retries elsewhere or later). 0: no cap.
  uint32_t max_connections_per_shard = 0;
  // gRPC's max connection age: a connection gets GOAWAY after this (±10% jitter, so connections
  // accepted together do not all reconnect together) and is closed `max_connection_age_grace`
  // later, cancelling what is still open. Zero: never.
  std::chrono::milliseconds max_connection_age{0};
  std::chrono::milliseconds max_connection_age_grace{0};
  // Keepalive enforcement, as libgrpc's GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS
  // and GRPC_ARG_HTTP2_MAX_PING_STRIKES: a client PING sooner than this after the previous one,
  // with no HEADERS or DATA sent by the server in between, is a strike; past the strikes the
  // connection gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings" and is closed. Zero: no limit.
  std::chrono::milliseconds min_ping_interval{0};
  int max_ping_strikes = 2;
  // Follow each client's frames so a repeated `authorization` literal is handed over without
  // being decoded again (Connection::Receive, authorization_memo.h). Worth it where calls carry
  // tokens; off, reads go to nghttp2 untouched (the frame walk costs a few instructions a frame:
  // +3% per ListUsers message, whose client sends a WINDOW_UPDATE a read).
  bool reuse_authorization = false;
};

struct WireStats {
  std::atomic<int64_t> connections{0};        // open now
  std::atomic<int64_t> connections_total{0};  // accepted
  std::atomic<int64_t> live_streams{0};       // Stream objects not yet freed
  std::atomic<int64_t> streams_total{0};
  std::atomic<int64_t> cancelled_streams{0};    // OnCancel delivered
  std::atomic<int64_t> accept_errors{0};        // EMFILE/ENFILE and the like
  std::atomic<int64_t> refused_connections{0};  // closed at accept: over the connection cap
  std::atomic<int64_t> aged_connections{0};     // sent GOAWAY for their max connection age
  std::atomic<int64_t> ping_abusers{0};         // closed with GOAWAY "too_many_pings"
  // Request `authorization` literals equal to the connection's previous one, handed over
  // without nghttp2 decoding them again (core/net/authorization_memo.h).
  std::atomic<int64_t> authorization_reuses{0};

  static void Add(std::atomic<int64_t>& counter, int64_t delta) {
    counter.store(counter.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
  }
};

}  // namespace percore::net
