#pragma once
// Threading contract: the server's io thread only (Server::Impl's inbox is the one door for
// other threads; see http_server.h).
//
// The inside of core/http's Server, shared by its .cc and the session templates
// (http_session.h, websocket_session.h): the Boost names, Connection (what the server keeps per
// id so answers posted from shards find their connection, or find it gone) and Server::Impl.

#include <sys/eventfd.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cctype>
#include <deque>
#include <optional>
#include <thread>
#include <unordered_map>

#include "core/http/http_server.h"
#include "core/runtime/mailbox.h"
#include "core/runtime/task.h"

namespace percore::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
// The io_context's own executor, not Asio's type-erased default (any_io_executor): every
// operation and handler on a session otherwise copies, moves and destroys an erased executor.
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using TcpStream = beast::basic_stream<tcp, Executor>;
using TlsStream = beast::ssl_stream<TcpStream>;

namespace internal {

// A connection the server keeps by id (so answers from shards find it, or find it gone).
class Connection {
 public:
  virtual ~Connection() = default;
  virtual void Close() = 0;
  virtual void Respond(Response) {}
  virtual void SendText(std::string) {}
  virtual void ReadMore() {}
  virtual void CloseWebSocket(uint16_t, std::string) {}
  virtual void Drain() {}
  // Stop() waits (up to ServerOptions::stop_linger) while this is true: an answer being
  // written, a WebSocket's queued frames and close handshake not yet done.
  virtual bool Finishing() const { return false; }
};

inline Response PlainError(int status, std::string_view message) {
  return Response{status, "text/plain; charset=utf-8", std::string(message) + "\n", {}};
}

inline std::string PeerName(const Socket& socket) {
  beast::error_code ec;
  tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  if (remote.address().is_v6()) {
    return "ipv6:[" + remote.address().to_string() + "]:" + std::to_string(remote.port());
  }
  return "ipv4:" + remote.address().to_string() + ":" + std::to_string(remote.port());
}

}  // namespace internal

struct Server::Impl {
  Impl(ServerOptions o, AsyncHandler h, WebSocketHandler* ws)
      : options(std::move(o)), handler(std::move(h)), websockets(ws) {
    // Without a header cap of its own the request cap covers both, and 413 says so (the admin).
    header_status = options.max_header_bytes == 0 ? 413 : 431;
    if (options.max_header_bytes == 0) options.max_header_bytes = options.max_request_bytes;
    if (options.max_body_bytes == 0) options.max_body_bytes = options.max_request_bytes;
    if (options.idle_timeout.count() == 0) options.idle_timeout = options.read_timeout;
    if (!options.error_response) options.error_response = internal::PlainError;
  }
  ~Impl() {
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void Accept();
  void WaitForPosts();
  // Stop()'s steps on the io thread: run what was posted before it, close the WebSockets still
  // open (1001), wait for the finishing connections until `until`, then close everything.
  void BeginStop();
  void LingerUntil(std::chrono::steady_clock::time_point until);
  void StopNow();
  internal::Connection* Find(ExchangeId id) {
    auto it = live.find(id);
    return it == live.end() ? nullptr : it->second.get();
  }
  void Forget(ExchangeId id) { live.erase(id); }

  Server* self = nullptr;
  ServerOptions options;
  int header_status = 431;
  AsyncHandler handler;
  WebSocketHandler* websockets;
  // The io thread only. Sessions live here (and in their pending handlers) until closed.
  std::unordered_map<ExchangeId, std::shared_ptr<internal::Connection>> live;
  ExchangeId next_id = 1;
  // TLS (SetTlsContext): the context new connections take; each keeps its own reference, so
  // a reload changes only the handshakes after it. nullptr: plaintext. The io thread only.
  std::shared_ptr<ssl::context> tls;
  bool stopped = false;
  bool draining = false;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer linger_timer{io};
  // Posts from shards: a lock-free mailbox whose push writes the eventfd the io thread reads.
  int wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  asio::posix::stream_descriptor wake{io};
  uint64_t wake_value = 0;
  runtime::Mailbox inbox{[this] {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd, &one, sizeof one);
  }};
  std::thread thread;
};

}  // namespace percore::http
