#pragma once
// Threading contract: the server's io thread only, like every session (server_impl.h).

#include "core/http/response_writer.h"
#include "core/http/server_impl.h"
#include "core/http/websocket_session.h"
#include "core/tls/peer_common_name.h"

namespace percore::http::internal {

// One HTTP connection: read a request (capped, timed), hand it to the handler, write its
// answer, again while keep-alive. One request at a time (pipelined ones wait in the buffer).
template <class Stream>
class HttpSession final : public Connection,
                          public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  HttpSession(Server::Impl& server, ExchangeId id, Socket socket) requires(!kTls)
      : server_(server), id_(id), stream_(std::move(socket)), peer_(PeerName(tcp_socket())) {}
  HttpSession(Server::Impl& server, ExchangeId id, Socket socket,
              std::shared_ptr<ssl::context> tls) requires(kTls)
      : server_(server),
        id_(id),
        tls_(std::move(tls)),
        stream_(TcpStream(std::move(socket)), *tls_),
        peer_(PeerName(tcp_socket())) {}

  // The TLS handshake (bounded by the read timeout), then the first request.
  void Begin() {
    if constexpr (kTls) {
      SSL* ssl = stream_.native_handle();
      if (server_.options.client_certificate_optional &&
          (SSL_get_verify_mode(ssl) & SSL_VERIFY_FAIL_IF_NO_PEER_CERT) != 0) {
        SSL_set_verify(ssl, SSL_VERIFY_PEER, SSL_get_verify_callback(ssl));
      }
      beast::get_lowest_layer(stream_).expires_after(server_.options.read_timeout);
      stream_.async_handshake(
          ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
            if (ec) return self->Close();  // not TLS, wrong CA, expired...
            self->certificate_name_ = tls::VerifiedPeerCommonName(self->stream_.native_handle());
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
          if (self->parser_->is_done()) return self->OnRead(ec);  // no body: no second read
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

  bool Finishing() const override { return writing_ && !closed_; }

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
    Request request = RequestOf(req);
    if (server_.draining) return Refuse(503, "server is shutting down", request);
    if (websocket::is_upgrade(req)) {
      if (server_.websockets == nullptr || !server_.websockets->Accepts(request.path())) {
        return Refuse(404, "no WebSocket endpoint at " + std::string(request.path()), request);
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

  // The request as the handlers see it (header names lower-case), from Beast's header.
  template <class Fields>
  Request RequestOf(const bhttp::request_header<Fields>& req) const {
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
    request.peer_certificate_name = certificate_name_;
    return request;
  }

  // An answer of the server's own, before any handler; the connection closes after it.
  void Refuse(int status, const std::string& message) {
    // What was read of the request: its header when it was whole (a body past its cap), else
    // nothing (a header past its cap, a malformed request).
    Request request = parser_ && parser_->is_header_done() ? RequestOf(parser_->get()) : Request();
    Refuse(status, message, request);
  }
  void Refuse(int status, const std::string& message, const Request& request) {
    keep_alive_ = false;
    awaiting_ = true;
    Response response = server_.options.error_response(status, message);
    if (server_.options.on_own_answer) server_.options.on_own_answer(request, response);
    Respond(std::move(response));
  }

  void Write(const Response& r, bool keep_alive) {
    out_.clear();
    if (!AppendResponse(r, version_, keep_alive, head_, out_)) return WriteWithBeast(r, keep_alive);
    beast::get_lowest_layer(stream_).expires_after(
        server_.options.read_timeout);  // a client that does not read
    writing_ = true;
    asio::async_write(stream_, asio::buffer(out_),
                      [self = this->shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                        self->writing_ = false;
                        if (ec || !keep_alive) return self->Close();
                        self->Read();
                      });
  }

  // Beast's own serializer: the answers AppendResponse leaves to it.
  void WriteWithBeast(const Response& r, bool keep_alive) {
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
    writing_ = true;
    bhttp::async_write(stream_, *res,
                       [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
                         self->writing_ = false;
                         if (ec || !res->keep_alive()) return self->Close();
                         self->Read();
                       });
  }

  Socket& tcp_socket() { return beast::get_lowest_layer(stream_).socket(); }

  Server::Impl& server_;
  const ExchangeId id_;
  std::shared_ptr<ssl::context> tls_;  // TLS: the context this connection was made with
  Stream stream_;
  const std::string peer_;        // once per connection
  std::string certificate_name_;  // TLS: the verified client certificate's name, after handshake
  beast::flat_buffer buffer_;
  std::string out_;  // the answer being written (AppendResponse)
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
  bool writing_ = false;   // an answer is being written
  bool first_ = true;
  bool closed_ = false;
};

}  // namespace percore::http::internal
