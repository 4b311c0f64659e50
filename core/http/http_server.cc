#include "core/http/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <optional>
#include <thread>

namespace percore::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct Server::Impl {
  Impl(ServerOptions o, Handler h) : options(std::move(o)), handler(std::move(h)) {}

  void Accept();

  ServerOptions options;
  Handler handler;
  // Before io: sessions freed with the io_context's pending handlers still count down.
  size_t connections = 0;  // the io thread only
  bool stopped = false;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
};

namespace {

// One connection: read a request (size-capped, timed), answer it, again while keep-alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server::Impl& server, tcp::socket socket) : server_(server), stream_(std::move(socket)) {
    ++server_.connections;
  }
  ~Session() { --server_.connections; }

  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options.max_request_bytes));
    parser_->body_limit(server_.options.max_request_bytes);
    stream_.expires_after(server_.options.read_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec == bhttp::error::header_limit || ec == bhttp::error::body_limit ||
        ec == bhttp::error::buffer_overflow) {
      Response too_big{413, "text/plain; charset=utf-8", "request too large\n", {}};
      Write(too_big, /*keep_alive=*/false, /*version=*/11);
      return;
    }
    if (ec) return Close();  // end of stream, timeout, bad request: drop the connection
    const auto& req = parser_->get();
    Request request{std::string(req.method_string()), std::string(req.target())};
    Response response;
    try {
      response = server_.handler(request);
    } catch (const std::exception& e) {
      response = Response{500, "text/plain; charset=utf-8", std::string(e.what()) + "\n", {}};
    }
    Write(response, req.keep_alive(), req.version());
  }

  void Write(const Response& r, bool keep_alive, unsigned version) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(r.status), version);
    res->set(bhttp::field::server, "percore");
    res->set(bhttp::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers) res->set(name, value);
    res->body() = r.body;
    res->keep_alive(keep_alive);
    res->prepare_payload();
    stream_.expires_after(server_.options.read_timeout);  // a client that does not read
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res](beast::error_code ec, size_t) {
                         if (ec || !res->keep_alive()) return self->Close();
                         self->Read();
                       });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  Server::Impl& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
};

}  // namespace

void Server::Impl::Accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (stopped || !acceptor.is_open()) return;
    if (!ec) {
      if (connections < options.max_connections) {
        std::make_shared<Session>(*this, std::move(socket))->Read();
      }  // else: the socket closes here
    }
    Accept();
  });
}

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

Server::~Server() { Stop(); }

bool Server::Listen(std::string* error) {
  const std::string& listen = impl_->options.listen;
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    *error = "--admin " + listen + ": expected HOST:PORT";
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

void Server::Start() {
  impl_->Accept();
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

void Server::Stop() {
  if (!impl_->thread.joinable()) return;
  asio::post(impl_->io, [impl = impl_.get()] {
    impl->stopped = true;
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    impl->io.stop();  // sessions still open are freed with the io_context's pending handlers
  });
  impl_->thread.join();
}

Response Router::operator()(const Request& request) const {
  std::string path = request.path();
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
