#pragma once
// Threading contract: Listen(), Start(), BeginDrain() and Stop() from one control thread. The
// server runs on its own thread (one Asio io_context): connections, parsing, WebSocket frames
// and the handlers all run there. Post() is the one member any thread may call (a lock-free
// mailbox and an eventfd: no mutex between the shards and this thread); Respond(),
// SendText(), ReadMore() and CloseWebSocket() run on the server's thread only (from a handler
// or a posted task). Stop() joins the thread; no handler is called after it returns.
//
// A small HTTP/1.1 + WebSocket server on Boost.Beast, for the admin port (metrics, health) and
// the gateway (services/gateway): keep-alive, a header cap (431 past it), a body cap (413), a
// read timeout (a slow request is closed) and an idle timeout (a silent keep-alive connection
// is closed), a cap on connections (extra ones are closed at accept), drain (new requests get
// 503 and `Connection: close`). A handler answers at once (Handler) or later (AsyncHandler:
// the request's exchange id is answered with Respond(), on this thread, typically from a task
// a shard posted). WebSocket upgrades go to a WebSocketHandler (text messages, one at a time as
// it asks with ReadMore; a bounded send queue; ping/pong on idle; a maximum message size).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;  // OpenSSL's, as <openssl/types.h> declares it

namespace percore::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent
  // Header fields in arrival order, names lower-case.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string peer;  // "ipv4:127.0.0.1:5000"
  // Over TLS: the common name of the client certificate the handshake verified (empty: none,
  // or plaintext; core/tls/peer_common_name.h).
  std::string peer_certificate_name;
  std::chrono::system_clock::time_point received;

  std::string_view path() const {
    std::string_view t = target;
    return t.substr(0, t.find('?'));
  }
  std::string_view query() const {
    size_t q = target.find('?');
    return q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1);
  }
  // The first value of header `lower_name`.
  std::optional<std::string_view> header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers) {
      if (name == lower_name) return std::string_view(value);
    }
    return std::nullopt;
  }
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones (Allow, Location, ...)
  // What the request was, for ServerOptions::on_response (the gateway's route index); -1:
  // unrouted (the server's own answers: 400, 413, 431, 503 while draining, ...).
  int label = -1;
};

// One request waiting for its answer, or one WebSocket; never reused.
using ExchangeId = uint64_t;

class Server;
using Handler = std::function<Response(const Request&)>;
// Answers later with server.Respond(id, ...), on the server's thread.
using AsyncHandler = std::function<void(Server& server, ExchangeId id, Request&& request)>;

// WebSocket events, on the server's thread, for one socket in this order: OnOpen, OnText...,
// OnClosed (exactly once, whoever ended it).
class WebSocketHandler {
 public:
  virtual ~WebSocketHandler() = default;
  // Whether `path` is a WebSocket endpoint (others get 404 to an upgrade).
  virtual bool Accepts(std::string_view path) const = 0;
  // After the handshake. No message is read until ReadMore(id).
  virtual void OnOpen(Server& server, ExchangeId id, Request&& request) = 0;
  // One text message (binary ones close the socket with 1003). The next after ReadMore(id).
  virtual void OnText(Server& server, ExchangeId id, std::string&& text) = 0;
  virtual void OnClosed(Server& server, ExchangeId id) = 0;
  // The send queue emptied: `frames` more messages were written since the last notice.
  virtual void OnDrained(Server& server, ExchangeId id, size_t frames) = 0;
};

struct ServerOptions {
  std::string listen = "127.0.0.1:0";              // HOST:PORT; port 0 picks a free one
  size_t max_request_bytes = 16 * 1024;            // header and body together (admin)
  std::chrono::milliseconds read_timeout{10'000};  // per request, from its first byte awaited
  size_t max_connections = 64;
  // 0: max_request_bytes. Past the header cap: 431 (413 when it is max_request_bytes); past
  // the body cap: 413.
  size_t max_header_bytes = 0;
  size_t max_body_bytes = 0;
  // A keep-alive connection waiting for its next request this long is closed; 0: read_timeout.
  std::chrono::milliseconds idle_timeout{0};
  // WebSocket: largest message, frames queued to a client that does not read (past it the
  // socket is closed), and silence after which a ping is sent (no pong within as long: closed).
  size_t max_websocket_message_bytes = 64 * 1024;
  size_t max_websocket_queue = 256;
  std::chrono::milliseconds websocket_ping_after{30'000};
  // The kernel's send buffer of a WebSocket (SO_SNDBUF; 0: the kernel's autotuning, up to
  // megabytes per socket): with it, a client that stops reading is noticed within a bounded
  // amount of memory instead of after megabytes of frames.
  int websocket_send_buffer_bytes = 64 * 1024;
  // How long Stop() waits for answers being written and WebSocket close handshakes; past it
  // the sockets are closed as they are.
  std::chrono::milliseconds stop_linger{1'000};
  // The flag named in listen errors.
  std::string flag = "--admin";
  // Bodies of the answers the server gives itself (400, 404 to an upgrade, 413, 431, 503).
  std::function<Response(int status, std::string_view message)> error_response = nullptr;
  // Called on the server's thread for every answer the server gives before any handler runs
  // (400, 404 to an upgrade, 413, 431, 503 while draining) and for a WebSocket handshake's
  // answer (101, or Beast's 400 to a bad handshake: only the headers added are used), with what
  // was read of the request (no headers when they could not be parsed). The gateway adds its
  // trace context here (services/gateway/edge_trace.h), so every answer names one.
  std::function<void(const Request& request, Response& response)> on_own_answer = nullptr;
  // With a TLS context that requires client certificates (--tls-client-ca): request one but let
  // a client without one in (a certificate presented must still verify). The handler decides
  // from Request::peer_certificate_name (the admin listener: probes need no certificate).
  bool client_certificate_optional = false;
  // Called on the server's thread for every answer given to an HTTP request (not for the
  // answers of a client that has left): the response's label, the request's method ("" when
  // the request could not be parsed), the status, and the time since the request was read.
  // For metrics: the server's thread is its one writer, so it counts without atomic RMW.
  std::function<void(int label, std::string_view method, int status,
                     std::chrono::nanoseconds elapsed)>
      on_response = nullptr;
};

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  Server(ServerOptions options, AsyncHandler handler, WebSocketHandler* websockets = nullptr);
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; false with `error` naming the address when it cannot.
  bool Listen(std::string* error);
  int port() const;
  // TLS: connections accepted from now on do a TLS handshake with `ctx` (OpenSSL's; this
  // server takes its own reference) before their first request; nullptr: plaintext. Before
  // Start() (control thread), or after it from any thread but the server's (a reload, SIGHUP:
  // the swap is posted to the server's thread and waited for, so connections accepted after
  // it returns use it; connections already open keep their session). False once stopped.
  bool SetTlsContext(SSL_CTX* ctx);
  // Whether connections are served over TLS (control thread, after SetTlsContext before Start).
  bool tls() const;
  // Starts serving on the server's own thread.
  void Start();
  // Stops accepting; requests from now on are answered 503 with `Connection: close`, idle
  // keep-alive connections are closed. WebSockets stay (their calls end them). Any thread.
  void BeginDrain();
  // Runs what was posted before it, closes the listener and idle connections, closes open
  // WebSockets with 1001 (going away), waits up to ServerOptions::stop_linger for answers being
  // written and WebSocket close handshakes under way (a close posted before Stop() reaches its
  // client), then closes every connection and joins the thread. Idempotent.
  void Stop();

  // Any thread, lock-free: runs `fn` on the server's thread. False once stopped (`fn` is then
  // destroyed on the caller's thread, so it must not own server-thread objects).
  bool Post(std::function<void()> fn);

  // Server thread only. Each is a no-op when the exchange is gone (the client left).
  void Respond(ExchangeId id, Response response);
  // Queues a text message; past max_websocket_queue the socket is closed.
  void SendText(ExchangeId id, std::string text);
  // Lets the next client message be read.
  void ReadMore(ExchangeId id);
  // Closes after the queued messages, with this close code and reason.
  void CloseWebSocket(ExchangeId id, uint16_t code, std::string reason);
  // Open connections (HTTP and WebSocket) now. Server thread only.
  size_t connections() const;

  struct Impl;  // the io_context side, in the .cc (its sessions reach it)

 private:
  std::unique_ptr<Impl> impl_;
};

// GET routes by path: 404 for an unknown path, 405 (Allow: GET) for another method on a known
// one. The returned handler is what Server takes.
class Router {
 public:
  Router& Get(std::string path, std::function<Response(const Request&)> fn) {
    routes_.emplace_back(std::move(path), std::move(fn));
    return *this;
  }
  Response operator()(const Request& request) const;

 private:
  std::vector<std::pair<std::string, std::function<Response(const Request&)>>> routes_;
};

}  // namespace percore::http
