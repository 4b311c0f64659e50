#include "core/http/http_server.h"

#include <latch>

#include "core/http/http_session.h"
#include "core/http/server_impl.h"

namespace percore::http {

using internal::Connection;
using internal::HttpSession;
using internal::PlainError;

void Server::Impl::Accept() {
  acceptor.async_accept(io.get_executor(), [this](beast::error_code ec, Socket socket) {
    if (stopped || !acceptor.is_open()) return;
    if (!ec && !draining && live.size() < options.max_connections) {
      ExchangeId id = next_id++;
      if (tls) {
        auto session = std::make_shared<HttpSession<TlsStream>>(*this, id, std::move(socket), tls);
        live.emplace(id, session);
        session->Begin();
      } else {
        auto session = std::make_shared<HttpSession<TcpStream>>(*this, id, std::move(socket));
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
  // Waits for the swap: a connection accepted after this returns (a client that read the
  // reload's log line) is handshaken with the new context.
  std::latch swapped(1);
  bool posted = Post([impl = impl_.get(), context = std::move(context), &swapped]() mutable {
    impl->tls = std::move(context);
    swapped.count_down();
  });
  if (posted) swapped.wait();
  return posted;
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

void Server::Impl::BeginStop() {
  // What shards posted before Stop() (answers, the gateway's WebSocket closes) runs first: the
  // eventfd's read handler and this task are both ready, in no promised order. Answers say
  // `Connection: close`.
  draining = true;
  while (inbox.Drain(1024) > 0) {
  }
  beast::error_code ignored;
  acceptor.close(ignored);
  std::vector<std::shared_ptr<Connection>> all;
  for (auto& [id, connection] : live) all.push_back(connection);
  for (auto& connection : all) {
    connection->Drain();  // idle keep-alive connections close; answers close after they are sent
    connection->CloseWebSocket(1001, "server is stopping");  // a no-op where one is under way
  }
  LingerUntil(std::chrono::steady_clock::now() + options.stop_linger);
}

void Server::Impl::LingerUntil(std::chrono::steady_clock::time_point until) {
  bool finishing = false;
  for (auto& [id, connection] : live) finishing = finishing || connection->Finishing();
  auto now = std::chrono::steady_clock::now();
  if (!finishing || now >= until) return StopNow();
  // A few milliseconds a look: this runs once, at shutdown, for at most stop_linger.
  linger_timer.expires_at(std::min(until, now + std::chrono::milliseconds(5)));
  linger_timer.async_wait([this, until](beast::error_code) { LingerUntil(until); });
}

void Server::Impl::StopNow() {
  stopped = true;
  beast::error_code ignored;
  acceptor.close(ignored);
  wake.close(ignored);
  auto all = std::move(live);
  for (auto& [id, connection] : all) connection->Close();
  all.clear();
  io.stop();  // what is still pending is freed with the io_context
}

void Server::Stop() {
  if (!impl_->thread.joinable()) return;
  asio::post(impl_->io, [impl = impl_.get()] { impl->BeginStop(); });
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