#include "core/http/http_server.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
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

#include "core/runtime/mailbox.h"
#include "core/runtime/task.h"

namespace percore::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

namespace {

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
};

Response PlainError(int status, std::string_view message) {
  return Response{status, "text/plain; charset=utf-8", std::string(message) + "\n", {}};
}

std::string PeerName(const tcp::socket& socket) {
  beast::error_code ec;
  tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  if (remote.address().is_v6()) {
    return "ipv6:[" + remote.address().to_string() + "]:" + std::to_string(remote.port());
  }
  return "ipv4:" + remote.address().to_string() + ":" + std::to_string(remote.port());
}

}  // namespace

struct Server::Impl {
  Impl(ServerOptions o, AsyncHandler h, WebSocketHandler* ws)
      : options(std::move(o)), handler(std::move(h)), websockets(ws) {
    // Without a header cap of its own the request cap covers both, and 413 says so (the admin).
    header_status = options.max_header_bytes == 0 ? 413 : 431;
    if (options.max_header_bytes == 0) options.max_header_bytes = options.max_request_bytes;
    if (options.max_body_bytes == 0) options.max_body_bytes = options.max_request_bytes;
    if (options.idle_timeout.count() == 0) options.idle_timeout = options.read_timeout;
    if (!options.error_response) options.error_response = PlainError;
  }
  ~Impl() {
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void Accept();
  void WaitForPosts();
  Connection* Find(ExchangeId id) {
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
  std::unordered_map<ExchangeId, std::shared_ptr<Connection>> live;
  ExchangeId next_id = 1;
  // TLS (SetTlsContext): the context new connections take; each keeps its own reference, so
  // a reload changes only the handshakes after it. nullptr: plaintext. The io thread only.
  std::shared_ptr<ssl::context> tls;
  bool stopped = false;
  bool draining = false;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
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

namespace {

// One WebSocket: reads one message at a time as the handler asks, writes one frame at a time
// from a bounded queue, closes after the queue with the handler's code.
// Stream: beast::tcp_stream (plaintext) or TlsStream (after the TLS handshake).
template <class Stream>
class WebSocketSession final : public Connection,
                               public std::enable_shared_from_this<WebSocketSession<Stream>> {
 public:
  WebSocketSession(Server::Impl& server, ExchangeId id, Stream&& stream)
      : server_(server), id_(id), ws_(std::move(stream)) {}

  void Accept(bhttp::request<bhttp::string_body>&& upgrade, Request&& request) {
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = server_.options.read_timeout;
    timeouts.idle_timeout = server_.options.websocket_ping_after * 2;
    timeouts.keep_alive_pings = true;  // a ping at half the idle timeout; no pong: closed
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(bhttp::field::server, "percore"); }));
    ws_.read_message_max(server_.options.max_websocket_message_bytes);
    if (int bytes = server_.options.websocket_send_buffer_bytes; bytes > 0) {
      beast::error_code ignored;
      beast::get_lowest_layer(ws_).socket().set_option(asio::socket_base::send_buffer_size(bytes),
                                                       ignored);
    }
    auto req = std::make_shared<bhttp::request<bhttp::string_body>>(std::move(upgrade));
    ws_.async_accept(*req, [self = this->shared_from_this(), req,
                            request = std::move(request)](beast::error_code ec) mutable {
      if (ec) return self->Closed(/*opened=*/false);  // beast answered 400 to a bad handshake
      self->open_ = true;
      self->server_.websockets->OnOpen(*self->server_.self, self->id_, std::move(request));
    });
  }

  void ReadMore() override {
    if (!open_ || closed_) return;
    ++credits_;
    MaybeRead();
  }

  void SendText(std::string text) override {
    if (!open_ || closed_ || closing_) return;
    if (out_.size() >= server_.options.max_websocket_queue) {
      // The client does not read: the queue is the bound. A close frame cannot pass the queued
      // ones, so the connection is dropped.
      return Close();
    }
    out_.push_back(std::move(text));
    MaybeWrite();
  }

  void CloseWebSocket(uint16_t code, std::string reason) override {
    if (!open_ || closed_ || closing_) return;
    closing_ = true;
    // RFC 6455: a close reason is at most 123 bytes.
    if (reason.size() > 123) reason.resize(123);
    close_reason_.code = code;
    close_reason_.reason = reason;
    MaybeWrite();
  }

  void Close() override {
    if (closed_) return;
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).close();
    Closed(open_);
  }

 private:
  void MaybeRead() {
    if (reading_ || credits_ == 0 || closed_) return;
    reading_ = true;
    --credits_;
    ws_.async_read(in_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      self->reading_ = false;
      if (ec) {
        if (ec == websocket::error::message_too_big) {
          // beast closes the socket with 1009 itself.
        }
        return self->Closed(true);
      }
      if (!self->ws_.got_text()) {
        self->CloseWebSocket(websocket::close_code::bad_payload, "text frames only");
        return;
      }
      std::string text = beast::buffers_to_string(self->in_.data());
      self->in_.consume(self->in_.size());
      if (self->closed_) return;
      self->server_.websockets->OnText(*self->server_.self, self->id_, std::move(text));
    });
  }

  void MaybeWrite() {
    if (writing_ || closed_) return;
    if (!out_.empty()) {
      writing_ = true;
      ws_.text(true);
      ws_.async_write(asio::buffer(out_.front()),
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        self->writing_ = false;
                        if (ec) return self->Close();
                        self->out_.pop_front();
                        ++self->sent_;
                        if (self->out_.empty() && !self->closed_) {
                          self->server_.websockets->OnDrained(*self->server_.self, self->id_,
                                                              std::exchange(self->sent_, 0));
                        }
                        self->MaybeWrite();
                      });
      return;
    }
    if (closing_ && !close_sent_) {
      close_sent_ = true;
      writing_ = true;
      ws_.async_close(close_reason_, [self = this->shared_from_this()](beast::error_code) {
        self->writing_ = false;
        self->Close();
      });
    }
  }

  // Once: the handler hears of it and the server forgets the socket.
  void Closed(bool opened) {
    if (closed_) return;
    closed_ = true;
    auto keep = this->shared_from_this();
    if (opened) server_.websockets->OnClosed(*server_.self, id_);
    server_.Forget(id_);
  }

  Server::Impl& server_;
  const ExchangeId id_;
  websocket::stream<Stream> ws_;
  beast::flat_buffer in_;
  std::deque<std::string> out_;
  websocket::close_reason close_reason_;
  int credits_ = 0;
  size_t sent_ = 0;  // frames written since the last OnDrained
  bool open_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool close_sent_ = false;
  bool closed_ = false;
};

// One HTTP connection: read a request (capped, timed), hand it to the handler, write its
// answer, again while keep-alive. One request at a time (pipelined ones wait in the buffer).
template <class Stream>
class HttpSession final : public Connection,
                          public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  HttpSession(Server::Impl& server, ExchangeId id, tcp::socket socket) requires(!kTls)
      : server_(server), id_(id), stream_(std::move(socket)), peer_(PeerName(tcp_socket())) {}
  HttpSession(Server::Impl& server, ExchangeId id, tcp::socket socket,
              std::shared_ptr<ssl::context> tls) requires(kTls)
      : server_(server),
        id_(id),
        tls_(std::move(tls)),
        stream_(beast::tcp_stream(std::move(socket)), *tls_),
        peer_(PeerName(tcp_socket())) {}

  // The TLS handshake (bounded by the read timeout), then the first request.
  void Begin() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(server_.options.read_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Close();  // not TLS, wrong CA, expired...
                                self->Read();
                              });
    } else {
      Read();
    }
  }

  void Read() {
    if (server_.stopped || closed_) return;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options.max_header_bytes));
    parser_->body_limit(server_.options.max_body_bytes);
    waiting_ = true;
    beast::get_lowest_layer(stream_).expires_after(first_ ? server_.options.read_timeout
                                                          : server_.options.idle_timeout);
    first_ = false;
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) {
          self->waiting_ = false;
          if (ec) return self->OnRead(ec);
          beast::get_lowest_layer(self->stream_).expires_after(self->server_.options.read_timeout);
          bhttp::async_read(self->stream_, self->buffer_, *self->parser_,
                            [self](beast::error_code ec2, size_t) { self->OnRead(ec2); });
        });
  }

  void Respond(Response response) override {
    if (!awaiting_ || closed_) return;
    awaiting_ = false;
    if (server_.options.on_response) {
      server_.options.on_response(response.label, method_, response.status,
                                  std::chrono::steady_clock::now() - started_);
    }
    Write(response, keep_alive_ && !server_.draining);
  }

  void Drain() override {
    if (waiting_) Close();  // idle between requests
  }

  void Close() override {
    if (closed_) return;
    closed_ = true;
    beast::error_code ignored;
    tcp_socket().shutdown(tcp::socket::shutdown_send, ignored);
    beast::get_lowest_layer(stream_).close();
    server_.Forget(id_);  // may free this: last
  }

 private:
  void OnRead(beast::error_code ec) {
    if (closed_) return;
    started_ = std::chrono::steady_clock::now();
    method_ = {};
    head_ = false;
    if (parser_ && parser_->is_header_done()) {
      bhttp::verb verb = parser_->get().method();
      beast::string_view name = bhttp::to_string(verb);  // static text for a known verb
      method_ = verb == bhttp::verb::unknown ? std::string_view("OTHER")
                                             : std::string_view(name.data(), name.size());
    }
    if (ec == bhttp::error::header_limit) {
      return Refuse(server_.header_status, "request header fields too large (limit " +
                                               std::to_string(server_.options.max_header_bytes) +
                                               " bytes)");
    }
    if (ec == bhttp::error::body_limit || ec == bhttp::error::buffer_overflow) {
      return Refuse(413, "request body too large (limit " +
                             std::to_string(server_.options.max_body_bytes) + " bytes)");
    }
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == bhttp::error::partial_message) {
      return Close();  // the client left, or went silent
    }
    if (ec) return Refuse(400, "malformed HTTP request: " + ec.message());
    bhttp::request<bhttp::string_body> req = parser_->release();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    head_ = req.method() == bhttp::verb::head;
    Request request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.headers.reserve(8);
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    request.received = std::chrono::system_clock::now();
    request.peer = peer_;
    if (server_.draining) {
      keep_alive_ = false;
      awaiting_ = true;
      return Respond(server_.options.error_response(503, "server is shutting down"));
    }
    if (websocket::is_upgrade(req)) {
      if (server_.websockets == nullptr || !server_.websockets->Accepts(request.path())) {
        keep_alive_ = false;
        awaiting_ = true;
        return Respond(server_.options.error_response(
            404, "no WebSocket endpoint at " + std::string(request.path())));
      }
      // The socket becomes a WebSocket under a new id; this session ends without closing it.
      ExchangeId ws_id = server_.next_id++;
      auto ws = std::make_shared<WebSocketSession<Stream>>(server_, ws_id, std::move(stream_));
      server_.live.emplace(ws_id, ws);
      closed_ = true;
      auto keep = this->shared_from_this();
      server_.Forget(id_);
      ws->Accept(std::move(req), std::move(request));
      return;
    }
    request.body = std::move(req.body());
    awaiting_ = true;
    auto keep = this->shared_from_this();  // the handler may answer (and close) at once
    server_.handler(*server_.self, id_, std::move(request));
  }

  void Refuse(int status, const std::string& message) {
    keep_alive_ = false;
    awaiting_ = true;
    Respond(server_.options.error_response(status, message));
  }

  void Write(const Response& r, bool keep_alive) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(r.status), version_);
    res->set(bhttp::field::server, "percore");
    res->set(bhttp::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers) res->set(name, value);
    res->body() = r.body;
    res->keep_alive(keep_alive);
    res->prepare_payload();
    // HEAD: the GET's headers (Content-Length included), no body (RFC 9110 9.3.2).
    if (head_) res->body().clear();
    beast::get_lowest_layer(stream_).expires_after(
        server_.options.read_timeout);  // a client that does not read
    bhttp::async_write(stream_, *res,
                       [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
                         if (ec || !res->keep_alive()) return self->Close();
                         self->Read();
                       });
  }

  tcp::socket& tcp_socket() { return beast::get_lowest_layer(stream_).socket(); }

  Server::Impl& server_;
  const ExchangeId id_;
  std::shared_ptr<ssl::context> tls_;  // TLS: the context this connection was made with
  Stream stream_;
  const std::string peer_;  // once per connection
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  unsigned version_ = 11;
  // The request being answered: its method (Beast's static verb strings; "OTHER" for a verb
  // Beast does not know) and when it was read, for on_response.
  std::string_view method_;
  std::chrono::steady_clock::time_point started_;
  bool keep_alive_ = true;
  bool head_ = false;      // the request is a HEAD: its answer has no body
  bool awaiting_ = false;  // the handler owes an answer
  bool waiting_ = false;   // reading the next request's header
  bool first_ = true;
  bool closed_ = false;
};

}  // namespace

void Server::Impl::Accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (stopped || !acceptor.is_open()) return;
    if (!ec && !draining && live.size() < options.max_connections) {
      ExchangeId id = next_id++;
      if (tls) {
        auto session = std::make_shared<HttpSession<TlsStream>>(*this, id, std::move(socket), tls);
        live.emplace(id, session);
        session->Begin();
      } else {
        auto session =
            std::make_shared<HttpSession<beast::tcp_stream>>(*this, id, std::move(socket));
        live.emplace(id, session);
        session->Begin();
      }
    }  // else: the socket closes here
    if (!draining) Accept();
  });
}

void Server::Impl::WaitForPosts() {
  wake.async_read_some(asio::buffer(&wake_value, sizeof wake_value),
                       [this](beast::error_code ec, size_t) {
                         if (ec || stopped) return;
                         inbox.Drain(1024);
                         WaitForPosts();
                       });
}

Server::Server(ServerOptions options, Handler handler)
    : Server(
          std::move(options),
          AsyncHandler([h = std::move(handler)](Server& server, ExchangeId id, Request&& request) {
            Response response;
            try {
              response = h(request);
            } catch (const std::exception& e) {
              response = PlainError(500, e.what());
            }
            server.Respond(id, std::move(response));
          })) {}

Server::Server(ServerOptions options, AsyncHandler handler, WebSocketHandler* websockets)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), websockets)) {
  impl_->self = this;
  impl_->wake.assign(::dup(impl_->wake_fd));
}

Server::~Server() { Stop(); }

bool Server::Listen(std::string* error) {
  const std::string& listen = impl_->options.listen;
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    *error = impl_->options.flag + " " + listen + ": expected HOST:PORT";
    return false;
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  beast::error_code ec;
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
    ec = asio::error::invalid_argument;
  }
  tcp::endpoint endpoint;
  if (!ec) {
    asio::ip::address address = asio::ip::make_address(host == "" ? "0.0.0.0" : host, ec);
    if (!ec) endpoint = tcp::endpoint(address, static_cast<unsigned short>(port));
  }
  if (!ec) impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    *error = "cannot listen on " + listen + ": " + ec.message();
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    return false;
  }
  return true;
}

int Server::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

bool Server::SetTlsContext(SSL_CTX* ctx) {
  std::shared_ptr<ssl::context> context;
  if (ctx != nullptr) {
    SSL_CTX_up_ref(ctx);  // asio's context owns one reference
    context = std::make_shared<ssl::context>(ctx);
  }
  if (!impl_->thread.joinable()) {
    impl_->tls = std::move(context);
    return true;
  }
  return Post([impl = impl_.get(), context = std::move(context)]() mutable {
    impl->tls = std::move(context);
  });
}

bool Server::tls() const { return impl_->tls != nullptr; }

void Server::Start() {
  impl_->Accept();
  impl_->WaitForPosts();
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

bool Server::Post(std::function<void()> fn) {
  return impl_->inbox.Push(runtime::MakeTask(std::move(fn)));
}

void Server::BeginDrain() {
  if (!impl_->thread.joinable()) return;
  Post([impl = impl_.get()] {
    impl->draining = true;
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    std::vector<std::shared_ptr<Connection>> all;
    for (auto& [id, connection] : impl->live) all.push_back(connection);
    for (auto& connection : all) connection->Drain();
  });
}

void Server::Stop() {
  if (!impl_->thread.joinable()) return;
  asio::post(impl_->io, [impl = impl_.get()] {
    impl->stopped = true;
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    impl->wake.close(ignored);
    auto live = std::move(impl->live);
    for (auto& [id, connection] : live) connection->Close();
    live.clear();
    impl->io.stop();  // what is still pending is freed with the io_context
  });
  impl_->thread.join();
  impl_->inbox.Close();  // later posts are refused; queued ones are freed with it
}

void Server::Respond(ExchangeId id, Response response) {
  if (Connection* c = impl_->Find(id)) c->Respond(std::move(response));
}
void Server::SendText(ExchangeId id, std::string text) {
  if (Connection* c = impl_->Find(id)) c->SendText(std::move(text));
}
void Server::ReadMore(ExchangeId id) {
  if (Connection* c = impl_->Find(id)) c->ReadMore();
}
void Server::CloseWebSocket(ExchangeId id, uint16_t code, std::string reason) {
  if (Connection* c = impl_->Find(id)) c->CloseWebSocket(code, std::move(reason));
}
size_t Server::connections() const { return impl_->live.size(); }

Response Router::operator()(const Request& request) const {
  std::string_view path = request.path();
  for (const auto& [route, fn] : routes_) {
    if (route != path) continue;
    if (request.method != "GET") {
      return Response{405, "text/plain; charset=utf-8", "method not allowed\n", {{"Allow", "GET"}}};
    }
    return fn(request);
  }
  return Response{404, "text/plain; charset=utf-8", "not found\n", {}};
}

}  // namespace percore::http
